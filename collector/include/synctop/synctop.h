/* synctop.h - everything a program needs to use libsynctop. */
#ifndef SYNCTOP_SYNCTOP_H
#define SYNCTOP_SYNCTOP_H

#include "result.h"
#include "timeout.h"
#include "table.h"
#include "process.h"
#include "lock.h"
#include "model.h"

#endif

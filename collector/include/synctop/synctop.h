/* synctop.h - everything a program needs to use libsynctop. */
#ifndef SYNCTOP_SYNCTOP_H
#define SYNCTOP_SYNCTOP_H

/* The library is built with hidden visibility: what this header declares
 * is its public API. */
#pragma GCC visibility push(default)

#include "result.h"
#include "timeout.h"
#include "table.h"
#include "process.h"
#include "lock.h"
#include "rlock.h"
#include "semaphore.h"
#include "event.h"
#include "condition.h"
#include "queue.h"
#include "pipe.h"
#include "pool.h"
#include "supervisor.h"
#include "value.h"
#include "array.h"
#include "shm.h"
#include "leaks.h"
#include "dict.h"
#include "model.h"
#include "text.h"

#pragma GCC visibility pop
#endif

/* model_internal.h - what the model offers beyond model.h, to the library's
 * own tests and the fuzz target (tests/fuzz/). */
#ifndef SYNCTOP_MODEL_INTERNAL_H
#define SYNCTOP_MODEL_INTERNAL_H

#include <synctop/model.h>

/* st_model_refresh() from a byte buffer holding a whole table, instead of
 * a session's segment. */
st_result st_model_refresh_from_buffer(st_model *model, const void *data, size_t size);

#endif

/* fuzz_reader.c - libFuzzer target for the viewer's reader: a byte buffer
 * taken as a whole table goes through the snapshot, the model and the JSON
 * and plain-text printers, exactly as a session's segment would.
 *
 * It aborts (a finding) when the JSON printed is not valid JSON or not
 * valid UTF-8, or when the --batch text is not valid UTF-8; crashes, hangs
 * and sanitizer reports are findings of libFuzzer itself. Built and run by
 * tests/fuzz/run.sh (./quickstart test, stage "fuzz").
 */
#include "config.h"

#include <json-c/json.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <synctop/model.h>
#include <synctop/text.h>
#include "model_internal.h"
#include "output.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

typedef void (*printer)(const st_model *model, FILE *out);

/* What printer writes for model, NUL-terminated (caller frees). */
static char *print_to_memory(printer print, const st_model *model, size_t *length)
{
    char *text = NULL;
    FILE *out = open_memstream(&text, length);
    if (!out)
        abort();
    print(model, out);
    if (fclose(out) != 0)
        abort();
    return text;
}

static void check_json(const st_model *model)
{
    size_t length = 0;
    char *text = print_to_memory(json_print_compact, model, &length);
    if (!st_text_is_valid_utf8(text, length)) {
        fprintf(stderr, "fuzz_reader: the JSON is not valid UTF-8: %s\n", text);
        abort();
    }
    json_tokener *tokener = json_tokener_new();
    json_tokener_set_flags(tokener, JSON_TOKENER_STRICT);
    json_object *root = json_tokener_parse_ex(tokener, text, (int)length);
    if (!root || json_tokener_get_error(tokener) != json_tokener_success) {
        fprintf(stderr, "fuzz_reader: not valid JSON (%s): %s\n",
                json_tokener_error_desc(json_tokener_get_error(tokener)), text);
        abort();
    }
    json_object_put(root);
    json_tokener_free(tokener);
    free(text);
}

static void check_text(const st_model *model)
{
    size_t length = 0;
    char *text = print_to_memory(batch_print_text, model, &length);
    if (!st_text_is_valid_utf8(text, length)) {
        fprintf(stderr, "fuzz_reader: the --batch text is not valid UTF-8: %s\n", text);
        abort();
    }
    free(text);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* One model for the whole run, so rates against the previous input are
     * exercised too. */
    static st_model *model;
    if (!model && st_model_new(&model) != ST_OK)
        abort();
    st_model_refresh_from_buffer(model, data, size);   /* errors are fine; crashes are not */
    check_json(model);
    check_text(model);
    return 0;
}

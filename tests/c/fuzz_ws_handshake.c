/* fuzz_ws_handshake.c - libFuzzer target for the HTTP upgrade heads
 * (src/core/ws_http.c): the blank-line finder, the server's request parser
 * and the client's response checker, on arbitrary bytes. Accepted heads
 * must satisfy the parser's promises (path starts with '/', key is 24
 * base64 characters). `make test` replays its corpus through
 * tests/c/fuzz_replay.c. */
#include "ws_http.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
    const char *text = (const char *)data;
    size_t head = okt_wsh_head_len(text, size);
    if (head > size)
        abort();
    /* parse the head if there is one, else the whole input as a head */
    size_t n = head ? head : size;

    okt_wsh_req *req = malloc(sizeof *req);
    const char *why = NULL;
    if (okt_wsh_parse_request(text, n, "json", req, &why) == 0) {
        if (req->path[0] != '/' || strlen(req->key) != OKT_WSH_KEY_LEN)
            abort();
        char acc[OKT_WSH_ACCEPT_LEN + 1];
        okt_wsh_accept_for(req->key, acc);
        if (strlen(acc) != OKT_WSH_ACCEPT_LEN)
            abort();
    } else if (!why) {
        abort();
    }
    free(req);

    int status = -1;
    why = NULL;
    if (okt_wsh_check_response(text, n, "dGhlIHNhbXBsZSBub25jZQ==", "json",
                               &status, &why) == 0) {
        if (status != 101)
            abort();
    } else if (!why || status < 0 || status > 999) {
        abort();
    }
    return 0;
}


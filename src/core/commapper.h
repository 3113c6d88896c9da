/* commapper.h - the oktellcommapper XML codec of the reference (libxml2).
 *
 * Values are jansson trees, so the Lua binding converts them with
 * lokt_push_json / lokt_to_json and C code (the client session, the
 * emulator) can build XML from JSON state. Shapes are those of API.md §2.
 *
 * Input: UTF-8 (BOM optional, any encoding declaration is ignored: the
 * reference's "utf-16" samples arrive as UTF-8 text), or UTF-16LE/BE with
 * a BOM (or BOM-less, recognised by the NUL pattern of "<"). At most
 * OKT_MAX_XML_BYTES bytes, OKT_MAX_XML_DEPTH nesting, OKT_MAX_XML_ITEMS
 * elements (libxml2 without XML_PARSE_HUGE also refuses a single text or
 * run of blanks over 10 MB). No DTD is accepted, so no entity is ever
 * loaded or expanded. Invalid UTF-8 is bad_xml.
 *
 * Output: UTF-8 with encoding="utf-8", or (utf16 != 0) UTF-16LE with a BOM
 * and encoding="utf-16". Root <oktellcommapper version="80710">.
 *
 * Errors: OKT_EBADXML for bad input; OKT_EINVAL for misuse of encode/build
 * (unknown kind, wrong field types, a state given by name and by code that
 * disagree, missing required fields); OKT_ENOMEM. All return 0 / -1.
 * Ownership: *value / *doc are new references (json_decref them); *out is
 * malloc'd, NUL-terminated after *outlen bytes (free() it). On failure the
 * outputs are set to NULL. Thread-safe: no shared mutable state. */
#ifndef OKT_COMMAPPER_H
#define OKT_COMMAPPER_H

#include <stddef.h>
#include <jansson.h>

#include "okt.h"

#define OKT_XML_VERSION "80710"

/* Kinds of typed messages, NULL-terminated (static). */
extern const char *const okt_xml_kinds[];

/* Decode a typed message. *kind is one of okt_xml_kinds (static string):
 * "userinfo", "userstate", "linestate", "settaskactive",
 * "settaskactiveresult", "confirmresult" or "event". */
int okt_xml_decode(const char *s, size_t len, json_t **value,
                   const char **kind, okt_err *err);

/* Encode a typed message of the given kind from value (an object). */
int okt_xml_encode(const char *kind, const json_t *value, int utf16,
                   char **out, size_t *outlen, okt_err *err);

/* Generic tree of any oktellcommapper document:
 *   {version = "80710", name = <data@name or absent>, items = [item...]}
 *   item = {tag = "property_simple" | "property_cdata" | "property_set" |
 *           "property_collection" | "event", key, value, name, id, count,
 *           text, items}
 * Attributes are strings and only those present appear (unknown ones
 * too, if their names are ASCII); text is the element's CDATA/text (always
 * present, maybe "", for property_cdata; for other elements only if it is
 * CDATA or not blank); items only for elements with child elements.
 * Elements of other tags (comments, wiki markup) are skipped with their
 * content. The root's version is given as found (absent if absent). */
int okt_xml_parse(const char *s, size_t len, json_t **doc, okt_err *err);

/* Inverse of okt_xml_parse: parse(build(d)) == d (with version defaulting
 * to OKT_XML_VERSION). Known attributes are written in the order key, value,
 * name, id, count, then the others sorted; an item with text gets it as
 * CDATA ("]]>" split, CR as &#13;). An item tag outside the five, a
 * non-scalar attribute, a control character or nesting beyond
 * OKT_MAX_XML_DEPTH is OKT_EINVAL. */
int okt_xml_build(const json_t *doc, int utf16, char **out, size_t *outlen,
                  okt_err *err);

/* Initialise libxml2 once per process (idempotent, thread-safe). The codec
 * calls it itself; threads that start early (the emulator) may call it
 * first. xmlCleanupParser is never called: the module lives inside host
 * processes that may use libxml2 themselves. */
void okt_xml_init(void);

#endif

/* rights.c - who may do what (EMULATOR-calls §5): roles and rights from
 * the config, subordinates, intercom; and the refusal texts. Refusals
 * carry oktell.js's text with its number in the text, never as an error
 * number (issue 9: a real server's numbers for these are unknown), except
 * the one real value for a missing right, error 52710. */
#include "room.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

/* oktell.js's texts for the numbers the rules use (fact sheet §8.2,
 * oktell.js L1476-1557). */
static const struct refusal {
    int n;
    const char *text;
} refusals[] = {
    {2002, "phone not connected"},
    {2101, "user has hold call and is talking now"},
    {2102, "user in conference now"},
    {2103, "phone state not valid for call"},
    {2104, "user state - busy"},
    {2105, "calling number is talking with us"},
    {2106, "bad number"},
    {2108, "error user or phone state for call"},
    {2201, "no numbers to invite"},
    {2203, "no number to create conference"},
    {2205, "bad user or phone state for creating conference"},
    {2206, "cant invite hold abonent"},
    {2208, "cant create conference while in callcenter in break"},
    {2303, "nothing to transfer"},
    {2304, "bad number for transfer"},
    {2402, "nothing to toggle, no hold"},
    {2501, "not in conference"},
    {2601, "bad flash mode"},
    {2901, "incorrect state"},
};

const char *refusal_text(int n)
{
    for (size_t i = 0; i < sizeof refusals / sizeof refusals[0]; i++)
        if (refusals[i].n == n)
            return refusals[i].text;
    return "refused";
}

int refuse(okt_req *r, int n)
{
    char msg[128];
    snprintf(msg, sizeof msg, "%s (%d)", refusal_text(n), n);
    return okt_req_refuse(r, 0, msg);
}

int refuse_right(okt_req *r, const char *key)
{
    char msg[256];
    const char *title = okt_m_right_title(key);
    snprintf(msg, sizeof msg, "no right: %s (%s)", title ? title : key, key);
    return okt_req_refuse(r, OKT_SE_RIGHTS, msg);
}

int right(const okt_calls *c, int ui, const char *key)
{
    const cline *l = &c->lines[ui];
    const json_t *v = json_object_get(l->rights, key);
    return v ? json_is_true(v) : l->all_rights;
}

int is_subordinate(const okt_calls *c, int ui, int of)
{
    okt_uview v;
    okt_m_user(c->m, ui, &v);
    const json_t *subs = c->lines[of].subs;
    for (size_t i = 0; i < json_array_size(subs); i++)
        if (!strcasecmp(json_string_value(json_array_get(subs, i)), v.login))
            return 1;
    return 0;
}

/* A table of booleans (rights); an empty Lua table arrives as {}. */
static int check_rights(const json_t *o, const char *what, okt_err *err)
{
    if (json_is_array(o) && json_array_size(o) == 0)
        return 0;
    if (!json_is_object(o))
        return okt_err_set(err, OKT_EINVAL, "%s must be a table of booleans",
                           what);
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)o, k, v) {
        if (!json_is_boolean(v))
            return okt_err_set(err, OKT_EINVAL, "%s.%s must be a boolean",
                               what, k);
    }
    return 0;
}

static int merge(json_t *dst, const json_t *src)
{
    const char *k;
    json_t *v;
    if (!json_is_object(src))
        return 0;
    json_object_foreach((json_t *)src, k, v) {
        if (json_object_set(dst, k, v))
            return -1;
    }
    return 0;
}

/* roles = {{name =, rights = {...}}}; a user names a role (`role`), own
 * `rights` win. A role the config does not define is the reference's
 * Администратор: every right. */
int rights_load(okt_calls *c, const json_t *config, okt_err *err)
{
    const json_t *roles = config ? json_object_get(config, "roles") : NULL;
    const json_t *users = config ? json_object_get(config, "users") : NULL;
    if (roles && !json_is_null(roles) && !json_is_array(roles) &&
        !(json_is_object(roles) && json_object_size(roles) == 0))
        return okt_err_set(err, OKT_EINVAL, "'roles' must be a list");
    for (size_t i = 0; i < json_array_size(roles); i++) {
        const json_t *ro = json_array_get(roles, i);
        char what[48];
        snprintf(what, sizeof what, "roles[%zu]", i + 1);
        if (!json_is_object(ro) || !json_is_string(json_object_get(ro, "name")))
            return okt_err_set(err, OKT_EINVAL,
                               "%s must be a table with a string 'name'",
                               what);
        const json_t *rr = json_object_get(ro, "rights");
        snprintf(what, sizeof what, "roles[%zu].rights", i + 1);
        if (rr && check_rights(rr, what, err))
            return -1;
    }
    for (size_t i = 0; i < c->nusers; i++) {
        cline *l = &c->lines[i];
        const json_t *u = json_is_array(users) ? json_array_get(users, i)
                                               : NULL;
        char what[48];
        snprintf(what, sizeof what, "users[%zu]", i + 1);
        okt_uview v;
        okt_m_user(c->m, (int)i, &v);
        l->rights = json_object();
        if (!l->rights)
            return okt_err_set(err, OKT_ENOMEM, "out of memory");
        l->all_rights = 1;
        for (size_t k = 0; k < json_array_size(roles); k++) {
            const json_t *ro = json_array_get(roles, k);
            if (!strcmp(json_string_value(json_object_get(ro, "name")),
                        v.role)) {
                l->all_rights = 0;
                if (merge(l->rights, json_object_get(ro, "rights")))
                    return okt_err_set(err, OKT_ENOMEM, "out of memory");
                break;
            }
        }
        const json_t *own = u ? json_object_get(u, "rights") : NULL;
        char w2[64];
        snprintf(w2, sizeof w2, "%s.rights", what);
        if (own && !json_is_null(own) &&
            (check_rights(own, w2, err) || merge(l->rights, own)))
            return -1;
        char pre[56];
        snprintf(pre, sizeof pre, "%s: ", what);
        if (cfg_flag(u, "intercom", 1, &l->intercom, pre, err))
            return -1;
        const json_t *subs = u ? json_object_get(u, "subordinates") : NULL;
        if (subs && !json_is_null(subs) &&
            !(json_is_object(subs) && json_object_size(subs) == 0)) {
            if (!json_is_array(subs))
                return okt_err_set(err, OKT_EINVAL,
                                   "%s.subordinates must be a list of logins",
                                   what);
            for (size_t k = 0; k < json_array_size(subs); k++) {
                const char *lg = json_string_value(json_array_get(subs, k));
                if (!lg || okt_m_find_login(c->m, lg) < 0)
                    return okt_err_set(err, OKT_EINVAL,
                                       "%s.subordinates[%zu]: unknown login",
                                       what, k + 1);
            }
            l->subs = json_incref((json_t *)subs);
        }
    }
    return 0;
}

void rights_free(okt_calls *c)
{
    for (size_t i = 0; c->lines && i < c->nusers; i++) {
        json_decref(c->lines[i].rights);
        json_decref(c->lines[i].subs);
    }
}

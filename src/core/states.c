/* states.c - the one definition of EUserState / ELineState. */
#include "states.h"

#include <string.h>
#include <strings.h>

static const okt_state_def userstates[] = {
    {OKT_US_DISCONNECTED, "disconnected", "usDisconnected", 0},
    {OKT_US_READY, "ready", "usReady", 1},
    {OKT_US_LUNCH, "lunch", "usLunch", 1},
    {OKT_US_OFF, "off", "usOff", 1},
    {OKT_US_FULLBUSY, "fullbusy", "usFullbusy", 1},
    {OKT_US_RESERVED, "reserved", "usReserved", 0},
    {OKT_US_WOPHONE, "wophone", "usWOphone", 0},
};

static const okt_state_def linestates[] = {
    {OKT_LS_DISCONNECTED, "disconnected", "lsDisconnected", 0},
    {OKT_LS_OFF, "off", "lsOff", 0},
    {OKT_LS_READY, "ready", "lsReady", 0},
    {OKT_LS_HOOKUP, "hookup", "lsHookUp", 0},
    {OKT_LS_INCOMINGCALL, "incomingcall", "lsIncomingCall", 0},
    {OKT_LS_COMMUTATED, "commutated", "lsCommutated", 0},
    {OKT_LS_WAIT, "wait", "lsWait", 0},
    {OKT_LS_FLASH, "flash", "lsFlash", 0},
    {OKT_LS_WAITDOWN, "waitdown", "lsWaitDown", 0},
    {OKT_LS_LISTENBUSY, "listenbusy", "lsListenBusy", 0},
    {OKT_LS_UNDEFINED, "undefined", "lsUndefined", 0},
    {OKT_LS_RESERVED, "reserved", "lsReserved", 0},
    {OKT_LS_RESERVEDBYTASK, "reservedbytask", "lsReservedByTask", 0},
};

#define NUSER (sizeof userstates / sizeof userstates[0])
#define NLINE (sizeof linestates / sizeof linestates[0])

const okt_state_def *okt_userstates(size_t *count)
{
    if (count)
        *count = NUSER;
    return userstates;
}

const okt_state_def *okt_linestates(size_t *count)
{
    if (count)
        *count = NLINE;
    return linestates;
}

static const okt_state_def *by_code(const okt_state_def *t, size_t n,
                                    long long code)
{
    for (size_t i = 0; i < n; i++)
        if (t[i].code == code)
            return &t[i];
    return NULL;
}

static int by_name(const okt_state_def *t, size_t n, const char *name)
{
    if (!name)
        return -1;
    for (size_t i = 0; i < n; i++)
        if (strcmp(t[i].name, name) == 0 || strcasecmp(t[i].refname, name) == 0)
            return t[i].code;
    return -1;
}

/* A line value with several flags set matches no entry, so it is NULL. */
const okt_state_def *okt_userstate_def(long long code) { return by_code(userstates, NUSER, code); }
const okt_state_def *okt_linestate_def(long long code) { return by_code(linestates, NLINE, code); }

const char *okt_userstate_name(long long code)
{
    const okt_state_def *d = okt_userstate_def(code);
    return d ? d->name : NULL;
}

const char *okt_userstate_refname(long long code)
{
    const okt_state_def *d = okt_userstate_def(code);
    return d ? d->refname : NULL;
}

const char *okt_linestate_name(long long code)
{
    const okt_state_def *d = okt_linestate_def(code);
    return d ? d->name : NULL;
}

const char *okt_linestate_refname(long long code)
{
    const okt_state_def *d = okt_linestate_def(code);
    return d ? d->refname : NULL;
}

int okt_userstate_code(const char *name) { return by_name(userstates, NUSER, name); }
int okt_linestate_code(const char *name) { return by_name(linestates, NLINE, name); }

int okt_userstate_settable(long long code)
{
    const okt_state_def *d = okt_userstate_def(code);
    return d ? d->settable : 0;
}

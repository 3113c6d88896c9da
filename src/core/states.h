/* states.h - EUserState and ELineState of the reference, defined once.
 *
 * Every other part (the codec, the client session, the emulator, the Lua
 * binding) takes codes and names from here. Names come in two spellings:
 * the short name of the Lua API ("ready", "incomingcall") and the
 * reference's enum name ("usReady", "lsIncomingCall").
 *
 * All returned strings are static constants; nothing here allocates. */
#ifndef OKT_STATES_H
#define OKT_STATES_H

#include <stddef.h>

/* EUserState codes (reference values). */
enum {
    OKT_US_DISCONNECTED = 0,
    OKT_US_READY = 1,
    OKT_US_LUNCH = 2,
    OKT_US_OFF = 3,
    OKT_US_FULLBUSY = 5,
    OKT_US_RESERVED = 6,
    OKT_US_WOPHONE = 7
};

/* ELineState codes: single flags; a line is in exactly one of them. */
enum {
    OKT_LS_DISCONNECTED = 0x1,
    OKT_LS_OFF = 0x2,
    OKT_LS_READY = 0x4,
    OKT_LS_HOOKUP = 0x8,
    OKT_LS_INCOMINGCALL = 0x10,
    OKT_LS_COMMUTATED = 0x20,
    OKT_LS_WAIT = 0x40,
    OKT_LS_FLASH = 0x80,
    OKT_LS_WAITDOWN = 0x100,
    OKT_LS_LISTENBUSY = 0x200,
    OKT_LS_UNDEFINED = 0x400,
    OKT_LS_RESERVED = 0x800,
    OKT_LS_RESERVEDBYTASK = 0x1000
};

/* One state of either enum. */
typedef struct okt_state_def {
    int code;
    const char *name;      /* short name: "ready" */
    const char *refname;   /* reference name: "usReady" / "lsReady" */
    int settable;          /* user states only: the user may ask for it
                              with SetUserState (ready, lunch, off,
                              fullbusy); always 0 for line states */
} okt_state_def;

/* The whole table, in code order; *count receives its length. The array
 * is static and constant. */
const okt_state_def *okt_userstates(size_t *count);
const okt_state_def *okt_linestates(size_t *count);

/* Lookups by code: the definition, or NULL for an unknown code (for a line
 * value, also NULL when several flags are set, e.g. 0x6). */
const okt_state_def *okt_userstate_def(long long code);
const okt_state_def *okt_linestate_def(long long code);

/* Short name ("ready") / reference name ("usReady") of a code, or NULL. */
const char *okt_userstate_name(long long code);
const char *okt_userstate_refname(long long code);
const char *okt_linestate_name(long long code);
const char *okt_linestate_refname(long long code);

/* Code of a name, or -1 if unknown. Short names match exactly
 * ("ready"); reference names match ignoring ASCII case ("usReady",
 * "USREADY"), since servers and scripts spell them variously. NULL -> -1. */
int okt_userstate_code(const char *name);
int okt_linestate_code(const char *name);

/* 1 if the user may set this user state (ready, lunch, off, fullbusy). */
int okt_userstate_settable(long long code);

#endif

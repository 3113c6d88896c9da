---@meta oktell
-- Type stubs of the oktell module for the Lua language server (LuaCATS
-- annotations). Declarations only: nothing here runs. The contract they
-- describe is docs/API.md; spec/types_spec.lua checks that every public
-- name of the live module has a stub here and that every stub names
-- something real.
--
-- Use: add this directory to the language server's `workspace.library`
-- (see README, "Editor support").

-- Names -------------------------------------------------------------------------

---The stable failure codes of API §0 (the third value of `nil, message, code`).
---@alias oktell.ErrorCode
---| "timeout"      # no answer in time
---| "closed"       # connection lost or client closed
---| "refused"      # cannot connect
---| "auth"         # bad login or password
---| "license"      # no free call-center licence
---| "not_settable" # the server refuses that state now
---| "bad_xml"      # an XML document that cannot be decoded
---| "protocol"     # a reply that breaks the protocol
---| "server"       # the server answered with an error; the message carries its text
---| "unsupported"  # the server does not offer this
---| "bad_state"    # (API §6)
---| "rights"       # the user's role forbids it
---| "io"           # a file (a recording) cannot be opened, read or written

---User state names (EUserState); the reference's names (`"usLunch"`) are accepted too.
---@alias oktell.UserStateName
---| "disconnected" # 0, usDisconnected
---| "ready"        # 1, usReady
---| "lunch"        # 2, usLunch
---| "off"          # 3, usOff
---| "fullbusy"     # 5, usFullbusy
---| "reserved"     # 6, usReserved
---| "wophone"      # 7, usWOphone

---Line state names (ELineState).
---@alias oktell.LineStateName
---| "disconnected"   # 0x1, lsDisconnected
---| "off"            # 0x2, lsOff
---| "ready"          # 0x4, lsReady
---| "hookup"         # 0x8, lsHookUp
---| "incomingcall"   # 0x10, lsIncomingCall
---| "commutated"     # 0x20, lsCommutated
---| "wait"           # 0x40, lsWait
---| "flash"          # 0x80, lsFlash
---| "waitdown"       # 0x100, lsWaitDown
---| "listenbusy"     # 0x200, lsListenBusy
---| "undefined"      # 0x400, lsUndefined
---| "reserved"       # 0x800, lsReserved
---| "reservedbytask" # 0x1000, lsReservedByTask

---Event names of `client:on` / `client:wait` (API §4). The reference's id
---(121, 122, 123) and name ("TMInterfaceConfirm") are accepted too.
---@alias oktell.EventName
---| "tminterfaceconfirm" # 121: a task asks the operator to confirm a number
---| "tminterfacereserve" # 122: the operator is reserved for a task's call
---| "tminterfaceclose"   # 123: the task's prompt or call ended
---| "userstate"          # the user state changed
---| "linestate"          # the line state changed
---| "callcenter"         # the user entered or left the call-center
---| "disconnect"         # the connection was lost
---| "reconnect"          # connected and logged in again after a loss

---Kinds of oktellcommapper documents (API §2).
---@alias oktell.XmlKind
---| "userinfo"
---| "userstate"
---| "linestate"
---| "settaskactive"
---| "settaskactiveresult"
---| "confirmresult"
---| "event"

---@alias oktell.ConfirmResult "ok"|"skip"|"delete"|0|1|2

---@alias oktell.TaskType "call"|"text"

---Log levels of `oktell.on_log`, least severe first.
---@alias oktell.LogLevel "debug"|"info"|"warn"|"error"

-- Table shapes ----------------------------------------------------------------------

---@class oktell.IdName
---@field id string
---@field name string

---The current user (kind "userinfo"); against a real Oktell without the
---emulator's extension, only the fields the server gives (no `rights`).
---@class oktell.UserInfo
---@field id string
---@field type? integer 1
---@field type_name? string "utUser"
---@field name? string
---@field isoperator? boolean
---@field group? oktell.IdName
---@field login string
---@field password? string the password given to connect (as the reference's COM hands out)
---@field role? oktell.IdName
---@field callerid? string
---@field info? string
---@field rights? table<string, boolean> right key -> granted (`rights.extwp`)
---@field right_titles? table<string, string> right key -> title

---A user state (kind "userstate"; also the "userstate" event).
---@class oktell.UserState
---@field state oktell.UserStateName
---@field code integer
---@field redirect boolean
---@field description? string
---@field reason? integer the break reason's id while the state is lunch or fullbusy (API §6.2)

---A line state (kind "linestate"; also the "linestate" event).
---@class oktell.LineState
---@field state oktell.LineStateName
---@field code integer

---Kind "settaskactive" (the argument of `client:set_task_active`).
---@class oktell.SetTaskActive
---@field tasktype oktell.TaskType
---@field idtask string
---@field active boolean

---Kind "settaskactiveresult".
---@class oktell.SetTaskActiveResult
---@field success boolean
---@field errormessage? string

---Kind "confirmresult".
---@class oktell.ConfirmResultDoc
---@field result "ok"|"skip"|"delete"

---A task manager prompt (kind "event"; events 121, 122, 123).
---@class oktell.TaskEvent
---@field id 121|122|123
---@field name "tminterfaceconfirm"|"tminterfacereserve"|"tminterfaceclose"
---@field idtask string
---@field idproject? string
---@field taskname? string
---@field taskcode? string
---@field idlist? string
---@field idinlist? integer
---@field number? string
---@field textb64? string
---@field text? string `textb64` decoded
---@field reason? "disconnect" only on a 123 the client makes itself: the connection dropped while the prompt was on screen

---The "callcenter" event.
---@class oktell.CallCenterEvent
---@field inside boolean

---The "disconnect" event.
---@class oktell.DisconnectEvent
---@field message string
---@field code oktell.ErrorCode

---The "reconnect" event (no fields).
---@class oktell.ReconnectEvent

---@alias oktell.Event oktell.UserState|oktell.LineState|oktell.TaskEvent|oktell.CallCenterEvent|oktell.DisconnectEvent|oktell.ReconnectEvent

---Options of `oktell.xml.encode` and `oktell.xml.build`.
---@class oktell.XmlOptions
---@field encoding? "utf-8"|"utf-16" default "utf-8"

---A generic oktellcommapper tree (`oktell.xml.parse`).
---@class oktell.XmlDoc
---@field version string "80710"
---@field name? string the data element's name
---@field items oktell.XmlItem[]

---@class oktell.XmlItem
---@field tag "property_simple"|"property_cdata"|"property_set"|"property_collection"|"event"
---@field key? string
---@field value? string
---@field name? string
---@field id? string
---@field count? string
---@field text? string the CDATA
---@field items? oktell.XmlItem[]

---Options of `oktell.connect` (API §3); an unknown key is a misuse error.
---@class oktell.ConnectOptions
---@field url? string|string[] `ws://…` or `wss://…`, or a list tried in turn (at most 10 used); required (or `urls`)
---@field urls? string|string[] the same as `url`
---@field login string the user's login
---@field password? string default ""; sent only as the two MD5 hashes Oktell expects
---@field timeout? number seconds per request (default 20)
---@field open_timeout? number seconds to open and log in (default `timeout`, else 10)
---@field ping? number keepalive interval in seconds (default 15)
---@field reconnect? boolean re-connect, re-login, re-subscribe after a drop (default true)
---@field confirm_usage? boolean as TM_SetConfirmUsage right after login (default false)
---@field verify? boolean wss://: check the certificate and host name (default true)
---@field cafile? string wss://: a PEM file of trusted CAs (default: the system store)
---@field wire? table<string, string> Lua method or event name -> the wire name a server uses
---@field trace? fun(direction: ">"|"<"|"!", frame: string) every frame, secrets masked
---@field record? string|file* record the session from its first frame (the login included) to this file, as `oktell.record` does; a file it opened is closed with the client
---@field queue_interval? number seconds between polls for the "queue" event (API §6.3, default 5)
---@field max_output? integer bytes that may wait to be sent (default 1048576; 65536 to 2^30); a server that reads none of more ends the connection ("closed")
---@field max_memory? integer bytes the connection may hold in all (default 67108864; 1048576 to 2^30); over it the connection ends ("closed")

---The argument of `client:set_user_state`.
---@class oktell.SetUserStateArgs
---@field state oktell.UserStateName|string|integer a name, a reference name or a code
---@field description? string
---@field redirect? boolean
---@field reason? integer a break reason's id (client:break_reasons())

---The argument of `client:set_task_active`.
---@class oktell.SetTaskActiveArgs
---@field tasktype oktell.TaskType
---@field idtask string
---@field active boolean

-- State enums (API §1) ------------------------------------------------------------

---`oktell.userstate`: read-only; name -> code, code -> name.
---@class oktell.UserStateEnum
---@field [integer] oktell.UserStateName
---@field disconnected 0
---@field ready 1
---@field lunch 2
---@field off 3
---@field fullbusy 5
---@field reserved 6
---@field wophone 7
---@field usDisconnected 0
---@field usReady 1
---@field usLunch 2
---@field usOff 3
---@field usFullbusy 5
---@field usReserved 6
---@field usWOphone 7
---@field name fun(x: integer|string): (name: oktell.UserStateName?, refname: string?) the short and the reference name
---@field settable fun(x: integer|string): boolean whether a user may set that state
---@field each fun(): (fun(): (oktell.UserStateName?, integer?)) iterate the short names and codes (every Lua; pairs() needs 5.2+)

---`oktell.linestate`: read-only; name -> code, code -> name (a value with
---several flags set gives nil).
---@class oktell.LineStateEnum
---@field [integer] oktell.LineStateName
---@field disconnected 1
---@field off 2
---@field ready 4
---@field hookup 8
---@field incomingcall 16
---@field commutated 32
---@field wait 64
---@field flash 128
---@field waitdown 256
---@field listenbusy 512
---@field undefined 1024
---@field reserved 2048
---@field reservedbytask 4096
---@field lsDisconnected 1
---@field lsOff 2
---@field lsReady 4
---@field lsHookUp 8
---@field lsIncomingCall 16
---@field lsCommutated 32
---@field lsWait 64
---@field lsFlash 128
---@field lsWaitDown 256
---@field lsListenBusy 512
---@field lsUndefined 1024
---@field lsReserved 2048
---@field lsReservedByTask 4096
---@field name fun(x: integer|string): (name: oktell.LineStateName?, refname: string?) the short and the reference name
---@field each fun(): (fun(): (oktell.LineStateName?, integer?)) iterate the short names and codes (every Lua; pairs() needs 5.2+)

-- The module --------------------------------------------------------------------------

---@class oktell
---@field _VERSION string the release, the same string as `oktell.core._VERSION`
---@field userstate oktell.UserStateEnum
---@field linestate oktell.LineStateEnum
---@field xml oktell.xml
local oktell = {}

---Connect and log in. Blocks (or yields inside a managed coroutine) until
---logged in.
---@param opts oktell.ConnectOptions
---@return oktell.Client? client
---@return string? message
---@return oktell.ErrorCode? code
function oktell.connect(opts) end

---Record the client's wire transcript from now on, for `emulator.replay`:
---JSON lines, a header `{"oktell_record": 1, "version", "login", "url"}` then
---`{"t": seconds, "dir": ">"|"<"|"!", "frame": <the frame>}`; passwords, their
---hashes and session ids are written as "***". Works on a client connected
---without `trace` (the core's trace is switched on for the live connection).
---@param client oktell.Client
---@param file string|file* a path (opened for writing, truncated) or an open file
---@return oktell.Recorder? recorder
---@return string? message
---@return oktell.ErrorCode? code "io" when the file cannot be opened or written; "closed"
function oktell.record(client, file) end

---Start a managed coroutine.
---@param fn async fun(...)
---@param ... any
---@return thread
function oktell.spawn(fn, ...) end

---Sleep: yields inside a managed coroutine; outside one it blocks, running
---the loop.
---@param seconds number
function oktell.sleep(seconds) end

---`run(fn, ...)`: run fn as a managed coroutine and keep the loop going until
---it and every managed coroutine have ended; returns fn's results, re-raises
---its error. `run()`: serve events until `oktell.stop()` or until every client
---is closed.
---@param fn? async fun(...): ...
---@param ... any
---@return any ...
function oktell.run(fn, ...) end

---Make `oktell.run()` return after the current turn.
function oktell.stop() end

---One turn of the loop, for embedding in a foreign loop.
---@param timeout? number seconds to wait at most (default 0)
---@return true
function oktell.step(timeout) end

---Where errors of handlers and spawned coroutines go (default: message and
---traceback to stderr). nil restores the default.
---@param fn? fun(err: any, traceback: string, co: thread)
---@return fun(err: any, traceback: string, co: thread) previous
function oktell.on_error(fn) end

---Where the library's log lines go; silent by default. `fn` gets every line
---at `level` or above (default "info"); secret fields are masked. nil
---silences it again.
---@param fn? fun(level: oktell.LogLevel, message: string, fields: table<string, any>)
---@param level? oktell.LogLevel
---@return fun(level: oktell.LogLevel, message: string, fields: table<string, any>)? previous
---@return oktell.LogLevel previous_level
function oktell.on_log(fn, level) end

-- oktell.xml (API §2) -------------------------------------------------------------------

---@class oktell.xml
---@field kinds oktell.XmlKind[] every kind `encode` and `decode` know
oktell.xml = {}

---Decode an oktellcommapper document of any kind (UTF-8 or UTF-16 with a BOM).
---@param s string
---@return table? value
---@return oktell.XmlKind|string kind_or_message
---@return "bad_xml"? code
function oktell.xml.decode(s) end

---Encode a value of a kind; a state may be given by name or by code.
---@param kind oktell.XmlKind
---@param value table
---@param opts? oktell.XmlOptions
---@return string? xml
---@return string? message
---@return oktell.ErrorCode? code
function oktell.xml.encode(kind, value, opts) end

---Parse any oktellcommapper document into a generic tree.
---@param s string
---@return oktell.XmlDoc? doc
---@return string? message
---@return "bad_xml"? code
function oktell.xml.parse(s) end

---The inverse of `parse`.
---@param doc oktell.XmlDoc
---@param opts? oktell.XmlOptions
---@return string? xml
---@return string? message
---@return oktell.ErrorCode? code
function oktell.xml.build(doc, opts) end

-- The client (API §3, §4) -----------------------------------------------------------------

---A recording under way (`oktell.record`). Also a to-be-closed value.
---@class oktell.Recorder
local Recorder = {}

---Stop recording (the frames traced so far are written) and close a file the
---recorder opened; `true` (again `true` later), or `nil, message, "io"` when
---a write had failed.
---@return true? ok
---@return string? message
---@return oktell.ErrorCode? code
function Recorder:stop() end

---The same as `stop`.
---@return true? ok
---@return string? message
---@return oktell.ErrorCode? code
function Recorder:close() end

---A connected operator workplace. Methods block in the main chunk and yield
---inside managed coroutines; failures return `nil, message, code`. Also a
---to-be-closed value (`local c <close> = oktell.connect{…}`).
---@class oktell.Client
local Client = {}

---GetCurrentUserFullInfo.
---@return oktell.UserInfo? info
---@return string? message
---@return oktell.ErrorCode? code
function Client:user_info() end

---GetUserState.
---@return oktell.UserState? state
---@return string? message
---@return oktell.ErrorCode? code
function Client:user_state() end

---SetUserState: `true`, or `nil, msg, "not_settable"` when the server refuses.
---@param args oktell.SetUserStateArgs
---@return true? ok
---@return string? message
---@return oktell.ErrorCode? code
function Client:set_user_state(args) end

---GetLineState: the name and the code (`"disconnected", 1` with no line).
---@return oktell.LineStateName|nil name
---@return integer|string code_or_message
---@return oktell.ErrorCode? code
function Client:line_state() end

---CallCenter_IsInside.
---@return boolean? inside
---@return string? message
---@return oktell.ErrorCode? code
function Client:callcenter_inside() end

---CallCenter_Enter: `true`, or `false, msg, "license"` when no seat is free.
---@return boolean? ok
---@return string? message
---@return oktell.ErrorCode? code
function Client:callcenter_enter() end

---CallCenter_Exit.
---@return true? ok
---@return string? message
---@return oktell.ErrorCode? code
function Client:callcenter_exit() end

---CallCenter_SetBusyInExternalTask: false if already reserved by a task.
---@return boolean? ok
---@return string? message
---@return oktell.ErrorCode? code
function Client:set_busy_in_external_task() end

---CallCenter_SetFreeInExternalTask: false unless reserved in the external task.
---@return boolean? ok
---@return string? message
---@return oktell.ErrorCode? code
function Client:set_free_in_external_task() end

---CallCenter_CheckBusyInExternalTask.
---@return boolean? busy
---@return string? message
---@return oktell.ErrorCode? code
function Client:check_busy_in_external_task() end

---TM_SetTaskActive: `true`, or `false, errormessage` (the task is locked).
---@param args oktell.SetTaskActiveArgs
---@return boolean? ok
---@return string? errormessage_or_message
---@return oktell.ErrorCode? code
function Client:set_task_active(args) end

---TM_SetConfirmUsage: whether this script answers 121 prompts itself.
---@param on boolean
---@return true? ok
---@return string? message
---@return oktell.ErrorCode? code
function Client:set_confirm_usage(on) end

---TM_SetConfirmResult: the answer to the pending 121 prompt.
---@param result oktell.ConfirmResult
---@return boolean? ok
---@return string? message
---@return oktell.ErrorCode? code
function Client:set_confirm_result(result) end

---Close the client; `true`, again `true` on a closed client.
---@return true
function Client:close() end

---Register a handler; each call runs in its own managed coroutine, in
---arrival order. Returns an id for `off`.
---@param name oktell.EventName|oktell.PhoneEventName|121|122|123|string
---@param fn fun(ev: oktell.Event, client: oktell.Client)
---@return integer id
---@overload fun(self: oktell.Client, name: "userstate", fn: fun(ev: oktell.UserState, client: oktell.Client)): integer
---@overload fun(self: oktell.Client, name: "linestate", fn: fun(ev: oktell.LineState, client: oktell.Client)): integer
---@overload fun(self: oktell.Client, name: "callcenter", fn: fun(ev: oktell.CallCenterEvent, client: oktell.Client)): integer
---@overload fun(self: oktell.Client, name: "tminterfaceconfirm"|"tminterfacereserve"|"tminterfaceclose"|121|122|123, fn: fun(ev: oktell.TaskEvent, client: oktell.Client)): integer
---@overload fun(self: oktell.Client, name: "disconnect", fn: fun(ev: oktell.DisconnectEvent, client: oktell.Client)): integer
---@overload fun(self: oktell.Client, name: "reconnect", fn: fun(ev: oktell.ReconnectEvent, client: oktell.Client)): integer
function Client:on(name, fn) end

---Remove a handler; false when the id is not registered.
---@param id integer
---@return boolean
function Client:off(id) end

---Wait for the first event of that name arriving after the call.
---@param name oktell.EventName|oktell.PhoneEventName|121|122|123|string
---@param timeout? number seconds (default: no limit)
---@return oktell.Event? ev
---@return string? message "timeout" on timeout
---@return oktell.ErrorCode? code
function Client:wait(name, timeout) end

---cqueues-style pollable: the descriptor to poll (nil while not connected).
---@return integer?
function Client:pollfd() end

---cqueues-style pollable: "r", "w" or "rw" (nil while not connected).
---@return string?
function Client:events() end

---cqueues-style pollable: seconds until the client needs a turn (nil: none).
---@return number?
function Client:timeout() end

-- API §6: calls, queue and numbers (lua/oktell/phone.lua). Every method
-- returns nil, message, code on failure; pre-checks give "bad_state" with
-- oktell.js's number in the message, e.g. "incorrect state (2901)".

---The abonent table of API §6.1 (oktell.js createAbonent).
---@class oktell.Abonent
---@field key string
---@field phone? string
---@field name? string
---@field chainid? string
---@field external boolean
---@field ivr boolean
---@field ivr_name? string
---@field waited? integer seconds waited (queue items)
---@field user? {id: string, name: string?, login: string?, comment: string?}
---@field competitor? {id: string, creator: boolean, director: boolean, ghost: boolean, ghost_major: boolean, hidden: boolean, state: string?}

---@alias oktell.PhoneState "disconnected"|"ready"|"call"|"ring"|"backring"|"talk"

---`client:line_info()` (API §6.1).
---@class oktell.LineInfo
---@field state oktell.PhoneState
---@field previous oktell.PhoneState
---@field autocall boolean
---@field line? oktell.LineStateName
---@field code? integer
---@field abonent? oktell.Abonent
---@field abonents oktell.Abonent[]
---@field hold? oktell.Abonent|{conference: {id: string, name: string?, room: any}}
---@field conference? {id: string, creator: boolean}
---@field chainid? string
---@field talk_seconds number
---@field raw table

---Event names of API §6.3 (the wire names are accepted too).
---@alias oktell.PhoneEventName
---| "phone"          # derived: the phone state, the party or the held party changed
---| "ringstarted"
---| "ringstopped"
---| "commstarted"
---| "commstopped"
---| "acmcallstarted"
---| "acmcallstopped"
---| "ivrstarted"
---| "ivrstopped"
---| "flash"
---| "conference"
---| "competitor"
---| "numberstate"
---| "customevent"
---| "queue"          # derived: getcurrentqueue polled every `queue_interval`

---@return oktell.LineInfo? info
---@return string? message
---@return oktell.ErrorCode? code
function Client:line_info() end

---@return oktell.PhoneState? state
---@return string? message
---@return oktell.ErrorCode? code
function Client:phone_state() end

---Click-to-call (`pbxautocallstart`); during a talk, a consultation call.
---@param number string|integer
---@param opts? {sequence: "user"|"abonent"?, intercom: boolean?}
---@return true? ok
---@return string? message
---@return oktell.ErrorCode? code
function Client:call(number, opts) end

---Answer a ringing line; true once the state is talk or call.
---@param timeout? number seconds (default 3)
---@return true? ok
---@return string? message
---@return oktell.ErrorCode? code
function Client:answer(timeout) end

---@param number? string|integer
---@return true? ok
---@return string? message
---@return oktell.ErrorCode? code
function Client:hangup(number) end

---@return true? ok
---@return string? message
---@return oktell.ErrorCode? code
function Client:decline() end

---@return true? ok
---@return string? message
---@return oktell.ErrorCode? code
function Client:hold() end

---@return true? ok
---@return string? message
---@return oktell.ErrorCode? code
function Client:toggle() end

---@param mode "switch"|"abort"|"next"
---@return true? ok
---@return string? message
---@return oktell.ErrorCode? code
function Client:flash(mode) end

---@return oktell.Abonent|false|nil held
---@return string? message
---@return oktell.ErrorCode? code
function Client:hold_info() end

---@param number? string|integer
---@return true? ok
---@return string? message
---@return oktell.ErrorCode? code
function Client:transfer(number) end

---@param numbers string|integer|(string|integer)[]
---@return string? id
---@return string? message
---@return oktell.ErrorCode? code
function Client:conference_create(numbers) end

---@param numbers? string|integer|(string|integer)[]
---@return string? id
---@return string? message
---@return oktell.ErrorCode? code
function Client:conference_from_call(numbers) end

---@param numbers string|integer|(string|integer)[]
---@param id? string
---@return true? ok
---@return string? message
---@return oktell.ErrorCode? code
function Client:conference_invite(numbers, id) end

---@param id? string
---@return {conference: table, competitors: oktell.Abonent[], raw: table}? info
---@return string? message
---@return oktell.ErrorCode? code
function Client:conference_info(id) end

---@param id? string
---@return true? ok
---@return string? message
---@return oktell.ErrorCode? code
function Client:conference_leave(id) end

---@param number string|integer
---@param id? string
---@return true? ok
---@return string? message
---@return oktell.ErrorCode? code
function Client:conference_kick(number, id) end

---@return oktell.Abonent[]? queue
---@return string? message
---@return oktell.ErrorCode? code
function Client:queue() end

---@return {id: string?, number: string?, state: string?, code: integer?, caption: string?, type: string?, group: boolean, department: {id: string?, name: string?}?}[]? numbers
---@return string? message
---@return oktell.ErrorCode? code
function Client:numbers() end

---@return {id: string?, name: string?, number: string?, numbers: table, subordinate: boolean}[]? users
---@return string? message
---@return oktell.ErrorCode? code
function Client:users() end

---@return {id: integer, name: string?}[]? reasons
---@return string? message
---@return oktell.ErrorCode? code
function Client:break_reasons() end

---@param name string
---@param param any
---@param opts? {to: string[]?, sendback: boolean?}
---@return true? ok
---@return string? message
---@return oktell.ErrorCode? code
function Client:trigger_event(name, param, opts) end

---@param name string
---@param fn fun(param: any, ev: table)
---@return integer id for `off`
function Client:on_custom(name, fn) end

---Any method's reply; an allowed stored procedure gives `{datasets = {rows…}, raw}`.
---@param method string
---@param params? table
---@return table? reply
---@return string? message
---@return oktell.ErrorCode? code
function Client:exec(method, params) end

-- COM-compatible methods: the reference's names, XML strings in and out.

---@return string? xml userinfo document
---@return string? message
---@return oktell.ErrorCode? code
function Client:GetCurrentUserFullInfo() end

---@return string? xml userstate document
---@return string? message
---@return oktell.ErrorCode? code
function Client:GetUserState() end

---Void, as in the COM library: `true` once the server answered, refusals included.
---@param xml string a userstate document
---@return true? ok
---@return string? message
---@return oktell.ErrorCode? code
function Client:SetUserState(xml) end

---@return string? xml linestate document
---@return string? message
---@return oktell.ErrorCode? code
function Client:GetLineState() end

---@return boolean? inside
---@return string? message
---@return oktell.ErrorCode? code
function Client:CallCenter_IsInside() end

---@return boolean? ok
---@return string? message
---@return oktell.ErrorCode? code
function Client:CallCenter_Enter() end

---@return true? ok
---@return string? message
---@return oktell.ErrorCode? code
function Client:CallCenter_Exit() end

---@return boolean? ok
---@return string? message
---@return oktell.ErrorCode? code
function Client:CallCenter_SetBusyInExternalTask() end

---@return boolean? ok
---@return string? message
---@return oktell.ErrorCode? code
function Client:CallCenter_SetFreeInExternalTask() end

---@return boolean? busy
---@return string? message
---@return oktell.ErrorCode? code
function Client:CallCenter_CheckBusyInExternalTask() end

---@param xml string a settaskactive document
---@return string? xml the settaskactiveresult document
---@return string? message
---@return oktell.ErrorCode? code
function Client:TM_SetTaskActive(xml) end

---@param on boolean
---@return true? ok
---@return string? message
---@return oktell.ErrorCode? code
function Client:TM_SetConfirmUsage(on) end

---@param xml string a confirmresult document
---@return boolean? ok
---@return string? message
---@return oktell.ErrorCode? code
function Client:TM_SetConfirmResult(xml) end

return oktell

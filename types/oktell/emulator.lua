---@meta oktell.emulator
-- Type stubs of oktell.emulator (API §5) for the Lua language server.
-- Declarations only; checked against the live module by spec/types_spec.lua.

---A user the emulator serves.
---@class oktell.EmulatorUser
---@field login string
---@field password? string
---@field name? string
---@field isoperator? boolean
---@field line? oktell.LineStateName|string|false a line state name, or false: no line
---@field redirect_number? string
---@field id? string
---@field number? string
---@field callerid? string
---@field info? string
---@field group? string
---@field group_id? string
---@field role? string
---@field role_id? string
---@field rights? table<string, boolean> own rights; they win over the role's
---@field subordinates? string[] logins: `sub` in getallusernumbers
---@field intercom? boolean the phone answers from afar (default true)
---@field agent? {answer?: number, wrapup?: number} a virtual operator the emulator drives

---A dialing task the emulator knows.
---@class oktell.EmulatorTask
---@field id string
---@field name? string
---@field type? oktell.TaskType
---@field active? boolean
---@field code? string
---@field idproject? string
---@field idlist? string

---Options of `emulator.start`.
---@class oktell.EmulatorOptions
---@field host? string default "127.0.0.1"
---@field port? integer default 0: a free port is chosen
---@field licenses? integer concurrent call-center seats (default 2)
---@field users? oktell.EmulatorUser[] default: the reference's Peter / 123
---@field tasks? oktell.EmulatorTask[] default: the reference's dialing task
---@field max_message? integer the largest WebSocket message accepted
---@field session_ttl? integer seconds a sessionid lives (default 28800)
---@field max_sessions? integer sessionids kept in all (default 10000)
---@field max_sessions_per_user? integer sessionids kept per user (default 16)
---@field login_failures? integer failed logins before throttling (default 5)
---@field login_lockout? integer seconds of the first refusal window (default 60)
---@field max_output? integer bytes waiting for one peer before it is cut (default 1 MiB)
---@field login_timeout? number seconds to log in after the upgrade (default 30)
---@field write_timeout? number seconds output may wait untaken (default 30)
---@field max_connections? integer live connections; then HTTP 503 (default 10000)
---@field max_memory? integer bytes all connections hold (default 1 GiB)
---@field numbers? {number: string|integer, kind: "queue"|"ivr", name?: string, duration?: number}[] service numbers
---@field break_reasons? {id: integer, name: string}[] cc_getlunchtypes' items
---@field procedures? table<string, table> stored procedures: name -> the wire's dataset
---@field roles? {name: string, rights: table<string, boolean>}[] a user's `role` names one
---@field ring_timeout? number seconds a call rings unanswered (default 15)
---@field missed_to_off? boolean an operator who lets a queue call ring out goes usOff
---@field wrapup? number seconds of wrap-up after a queue call (default 0)
---@field speed? number|"max" emulated seconds per real second (default 1)
---@field seed? integer the model's own ids (chainids) repeat by it
---@field control? string a control channel: "unix:PATH", "stdio", "tcp:127.0.0.1:PORT"

---The argument of `emu:offer`.
---@class oktell.EmulatorOffer
---@field task? string a task id
---@field mode? "confirm"|"notify" default "confirm": event 121; "notify": 122
---@field number? string|integer
---@field text? string
---@field idinlist? integer

---What `emu:snapshot` gives.
---@class oktell.EmulatorSnapshot
---@field userstate oktell.UserStateName
---@field linestate oktell.LineStateName
---@field inside boolean
---@field external boolean
---@field connected boolean
---@field confirm_pending boolean
---@field dialing boolean
---@field redirect boolean
---@field wrapup boolean in wrap-up after a queue call
---@field phone string the line's stage: "idle", "ring", "acm_ring", "acm_waitdown", "acm_dial", "dial", "talk", "flash", "conference", "ivr"
---@field chainid? string the current call's
---@field held? string the held party's number
---@field conference? string the conference's id

---Options of `emu:call_in`.
---@class oktell.EmulatorCallIn
---@field patience? number|false seconds the caller waits unanswered (default: forever)
---@field name? string the caller's name
---@field talk? number|false the caller hangs up after this talk (seconds)

---A call, as `emu:calls` lists it.
---@class oktell.EmulatorCall
---@field chainid string
---@field from string
---@field to string
---@field stage "queued"|"ringing"|"talk"|"ivr"
---@field user? string the user's login on it
---@field since number emulated seconds: when the stage began

---A caller waiting in the call-center queue (`emu:queue`).
---@class oktell.EmulatorQueued
---@field number string
---@field chainid string
---@field waited number seconds

---Statistics (`emu:stats`, `t:stats`).
---@class oktell.EmulatorStats
---@field offered integer
---@field answered integer
---@field abandoned integer
---@field refused integer calls refused as busy (not offered)
---@field waiting integer now
---@field talking integer now
---@field max_wait number seconds, over every finished wait
---@field mean_wait number seconds, over answered calls
---@field service_level number answered within `sl` / (answered + abandoned)
---@field sl number the threshold, seconds
---@field running? boolean a traffic's arrivals go on

---Options of `emu:traffic`: seconds as a number (exponential mean),
---`{min, max}` (uniform) or false (never).
---@class oktell.EmulatorTrafficOptions
---@field rate number arrivals per emulated second (Poisson)
---@field talk? number|number[]|false default 180
---@field patience? number|number[]|false default false: forever
---@field to? string default "queue"
---@field numbers? string callers' numbers, "#" a random digit (default "7495#######")
---@field duration? number arrivals stop after it (seconds)
---@field seed? integer default 1
---@field sl? number the service level's threshold (default 20)

---A traffic generator.
---@class oktell.EmulatorTraffic
---@field emu oktell.Emulator
---@field id integer
local Traffic = {}

---@return oktell.EmulatorStats? stats
---@return string? message
---@return oktell.ErrorCode? code
function Traffic:stats() end

---No more arrivals; the calls in progress go on.
---@return true? ok
---@return string? message
---@return oktell.ErrorCode? code
function Traffic:stop() end

---A running emulator. Control calls return `true`, or `nil, message, code`
---("not_settable" when the rules refuse; "closed" once stopped); misuse
---raises. Also a to-be-closed value.
---@class oktell.Emulator
---@field url string "ws://127.0.0.1:PORT"
---@field host string
---@field port integer
---@field control string|false the control channel's address (port 0 resolved), or false
local Emulator = {}

---An outside caller calls a user (login or number), a number, or "queue".
---@param number string|integer the caller's number
---@param to string|integer
---@param opts? oktell.EmulatorCallIn
---@return string? chainid
---@return string? message "busy" when it cannot be taken
---@return oktell.ErrorCode? code
function Emulator:call_in(number, to, opts) end

---The far end (an outside number) picks up.
---@param id string|integer a chainid or the number
---@return true? ok
---@return string? message
---@return oktell.ErrorCode? code
function Emulator:answer_as_abonent(id) end

---The far end hangs up.
---@param id string|integer a chainid or the number
---@return true? ok
---@return string? message
---@return oktell.ErrorCode? code
function Emulator:hangup_abonent(id) end

---How an outside number behaves when dialled (default: rings until answered).
---@param number string|integer
---@param opts {answer?: number|false, busy?: boolean}
---@return true? ok
---@return string? message
---@return oktell.ErrorCode? code
function Emulator:abonent(number, opts) end

---The operator's handset.
---@param user string
---@param action "pickup"|"hangup"|"dial"
---@param number? string|integer for "dial"
---@return true? ok
---@return string? message
---@return oktell.ErrorCode? code
function Emulator:phone(user, action, number) end

---@return oktell.EmulatorCall[]? calls
---@return string? message
---@return oktell.ErrorCode? code
function Emulator:calls() end

---The call-center queue.
---@return oktell.EmulatorQueued[]? queue
---@return string? message
---@return oktell.ErrorCode? code
function Emulator:queue() end

---Totals so far.
---@return oktell.EmulatorStats? stats
---@return string? message
---@return oktell.ErrorCode? code
function Emulator:stats() end

---Poisson arrivals of outside callers.
---@param opts oktell.EmulatorTrafficOptions
---@return oktell.EmulatorTraffic? traffic
---@return string? message
---@return oktell.ErrorCode? code
function Emulator:traffic(opts) end

---The server sends 121 (mode "confirm") or 122 (mode "notify") to the user.
---@param user string a login
---@param offer oktell.EmulatorOffer
---@return true? ok
---@return string? message
---@return oktell.ErrorCode? code
function Emulator:offer(user, offer) end

---The server sends 123 and settles the states.
---@param user string
---@param outcome "answered"|"failed"
---@return true? ok
---@return string? message
---@return oktell.ErrorCode? code
function Emulator:finish(user, outcome) end

---A caller waiting in the call-center queue.
---@param caller {number: string|integer}|string|integer
---@return true? ok
---@return string? message
---@return oktell.ErrorCode? code
function Emulator:enqueue(caller) end

---Set the user's line state.
---@param user string
---@param state oktell.LineStateName|string
---@return true? ok
---@return string? message
---@return oktell.ErrorCode? code
function Emulator:set_line(user, state) end

---Lock a task for exclusive editing: TM_SetTaskActive then fails naming the editor.
---@param id string
---@param editor string
---@return true? ok
---@return string? message
---@return oktell.ErrorCode? code
function Emulator:lock_task(id, editor) end

---@param id string
---@return true? ok
---@return string? message
---@return oktell.ErrorCode? code
function Emulator:unlock_task(id) end

---The user's state as the server holds it.
---@param user string
---@return oktell.EmulatorSnapshot? snapshot
---@return string? message
---@return oktell.ErrorCode? code
function Emulator:snapshot(user) end

---Stop answering (sessions stay open) or resume: for timeout tests.
---@param on? boolean default true
---@return true? ok
---@return string? message
---@return oktell.ErrorCode? code
function Emulator:pause(on) end

---Close that user's sessions abruptly: for reconnect tests.
---@param user string
---@return true? ok
---@return string? message
---@return oktell.ErrorCode? code
function Emulator:drop(user) end

---Live transport sessions (for tests and benchmarks).
---@return integer? count
---@return string? message
---@return oktell.ErrorCode? code
function Emulator:sessions() end

---Close every session and stop the thread; `true` (again `true` later).
---@return true
function Emulator:stop() end

---The same as `stop`.
---@return true
function Emulator:close() end

---Options of `emulator.replay`.
---@class oktell.ReplayOptions
---@field host? string default "127.0.0.1"
---@field port? integer default 0: a free port is chosen
---@field speed? number default 1; recorded event offsets are divided by it

---What `rep:status()` gives.
---@class oktell.ReplayStatus
---@field done boolean every recorded request (pings aside) served, every recorded event sent
---@field requests integer recorded requests, pings aside
---@field requests_served integer
---@field events integer recorded events
---@field events_sent integer
---@field unexpected integer requests refused for want of a recorded answer
---@field left string[] the methods of the first recorded requests not served yet (at most 16)
---@field refused string[] the methods of the first unexpected requests (at most 16)

---A recording served back to one client at a time (`emulator.replay`).
---Also a to-be-closed value.
---@class oktell.Replay
---@field url string "ws://127.0.0.1:PORT"
---@field host string
---@field port integer
local Replay = {}

---Progress of the replay.
---@return oktell.ReplayStatus? status
---@return string? message
---@return oktell.ErrorCode? code "closed" once stopped
function Replay:status() end

---Whether every recorded exchange was served: each recorded request (pings
---aside) answered and each recorded event sent.
---@return boolean
function Replay:done() end

---Wait until `done()`, running the oktell loop meanwhile (yields inside a
---managed coroutine).
---@param timeout? number seconds (default 10)
---@return true? ok
---@return string? message what is left, on timeout
---@return oktell.ErrorCode? code "timeout"
function Replay:wait(timeout) end

---Close the connection and stop the thread; `true` (again `true` later).
---@return true
function Replay:stop() end

---The same as `stop`.
---@return true
function Replay:close() end

---@class oktell.emulator
local emulator = {}

---Start an emulator; returns once it listens. It serves from its own thread.
---@param opts? oktell.EmulatorOptions
---@return oktell.Emulator? emu
---@return string? message
---@return oktell.ErrorCode? code
function emulator.start(opts) end

---The methods of a started emulator for one another process runs, over its
---control channel (bin/oktell-emu --control ...); `stop` closes the channel only.
---@param spec string "unix:PATH" or "tcp:HOST:PORT"
---@param timeout? number seconds to wait for an answer (default 10)
---@return oktell.Emulator? emu
---@return string? message
---@return oktell.ErrorCode? code
function emulator.attach(spec, timeout) end

---Serve a recording made by `oktell.record` (or `connect{record = …}`) back
---to one client at a time. Each request gets the recorded reply of the next
---recorded request of its method, with the request's own qid; the recorded
---user logs in whatever the password (the file holds none); a request with
---no recorded counterpart gets `result: 0`, "replay: no recorded answer for
---<method>"; recorded events go out at their offsets from the login
---(divided by `speed`), in recorded order relative to the replies. A file
---that is no recording, or that holds a password, hash or session id
---unmasked, raises.
---@param file string|file* a path or an open file
---@param opts? oktell.ReplayOptions
---@return oktell.Replay? replay
---@return string? message
---@return oktell.ErrorCode? code "io" when the file cannot be read; "refused" when it cannot listen
function emulator.replay(file, opts) end

return emulator

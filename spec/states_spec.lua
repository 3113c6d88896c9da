-- oktell.userstate / oktell.linestate (API.md §1), against the reference's
-- EUserState / ELineState enums as printed in the reference.
local oktell = require "oktell"

-- The reference's enums, copied as printed in the reference
-- (public enum EUserState / ELineState).
local REF_US = {usDisconnected = 0, usReady = 1, usLunch = 2, usOff = 3, usFullbusy = 5,
  usReserved = 6, usWOphone = 7}
local REF_LS = {lsDisconnected = 0x00000001, lsOff = 0x00000002, lsReady = 0x00000004,
  lsHookUp = 0x00000008, lsIncomingCall = 0x00000010, lsCommutated = 0x00000020,
  lsWait = 0x00000040, lsFlash = 0x00000080, lsWaitDown = 0x00000100,
  lsListenBusy = 0x00000200, lsUndefined = 0x00000400, lsReserved = 0x00000800,
  lsReservedByTask = 0x00001000}

local USER = {disconnected = 0, ready = 1, lunch = 2, off = 3, fullbusy = 5, reserved = 6, wophone = 7}
local LINE = {disconnected = 0x1, off = 0x2, ready = 0x4, hookup = 0x8, incomingcall = 0x10,
  commutated = 0x20, wait = 0x40, flash = 0x80, waitdown = 0x100, listenbusy = 0x200,
  undefined = 0x400, reserved = 0x800, reservedbytask = 0x1000}

describe("oktell.userstate / oktell.linestate", function()
  it("match API.md's examples", function()
    assert.equal(1, oktell.userstate.ready)
    assert.equal(1, oktell.userstate.usReady)
    assert.equal("ready", oktell.userstate[1])
    local short, ref = oktell.userstate.name(1)
    assert.equal("ready", short)
    assert.equal("usReady", ref)
    assert.equal(4, oktell.linestate.ready)
    assert.equal(4, oktell.linestate.lsReady)
    assert.equal("commutated", oktell.linestate[0x20])
  end)

  it("have every short name of API.md, both ways", function()
    for name, code in pairs(USER) do
      assert.equal(code, oktell.userstate[name])
      assert.equal(name, oktell.userstate[code])
      assert.equal(name, (oktell.userstate.name(code)))
    end
    for name, code in pairs(LINE) do
      assert.equal(code, oktell.linestate[name])
      assert.equal(name, oktell.linestate[code])
      assert.equal(name, (oktell.linestate.name(code)))
    end
  end)

  it("have every reference name of the reference's enums", function()
    local n = 0
    for ref, code in pairs(REF_US) do
      n = n + 1
      assert.equal(code, oktell.userstate[ref], ref)
      assert.equal(ref, select(2, oktell.userstate.name(code)))
    end
    assert.equal(7, n)
    n = 0
    for ref, code in pairs(REF_LS) do
      n = n + 1
      assert.equal(code, oktell.linestate[ref], ref)
      assert.equal(ref, select(2, oktell.linestate.name(code)))
    end
    assert.equal(13, n)
    assert.equal(7, oktell.userstate.usWOphone)
    assert.equal(0x1000, oktell.linestate.lsReservedByTask)
    assert.equal(0x8, oktell.linestate.lsHookUp)
  end)

  it("give nil for unknown codes, unknown names and several flags", function()
    assert.is_nil(oktell.userstate[4])
    assert.is_nil(oktell.userstate[8])
    assert.is_nil(oktell.userstate[-1])
    assert.is_nil(oktell.userstate.asleep)
    assert.is_nil(oktell.userstate.Ready)       -- short names are case-sensitive
    assert.is_nil(oktell.userstate.name(4))
    assert.is_nil(oktell.userstate.name("asleep"))
    assert.is_nil(oktell.linestate[0x6])
    assert.is_nil(oktell.linestate[0])
    assert.is_nil(oktell.linestate[0x2000])
    assert.is_nil(oktell.linestate.name(0x6))
    assert.is_nil(oktell.linestate.usReady)
    assert.is_nil(oktell.userstate.lsReady)
    assert.is_nil(oktell.userstate[true])
    assert.is_nil(oktell.linestate[1.5])
    assert.equal("ready", oktell.linestate[4.0])
  end)

  it("name() also takes a name", function()
    assert.same({"lunch", "usLunch"}, {oktell.userstate.name("lunch")})
    assert.same({"hookup", "lsHookUp"}, {oktell.linestate.name("lsHookUp")})
  end)

  it("tell which user states the user may set", function()
    for name in pairs(USER) do
      local want = name == "ready" or name == "lunch" or name == "off" or name == "fullbusy"
      assert.equal(want, oktell.userstate.settable(name), name)
      assert.equal(want, oktell.userstate.settable(USER[name]), name)
    end
    assert.is_false(oktell.userstate.settable(42))
  end)

  it("are read-only", function()
    assert.has_error(function() oktell.userstate.ready = 2 end)
    assert.has_error(function() oktell.userstate.sleeping = 9 end)
    assert.has_error(function() oktell.linestate[0x6] = "x" end)
    assert.has_error(function() setmetatable(oktell.linestate, {}) end)
    assert.equal(1, oktell.userstate.ready)
    assert.is_nil(rawget(oktell.userstate, "ready"))
  end)

  it("iterate short names with each() (every Lua)", function()
    local seen = {}
    for name, code in oktell.userstate.each() do seen[name] = code end
    assert.same(USER, seen)
    seen = {}
    for name, code in oktell.linestate.each() do seen[name] = code end
    assert.same(LINE, seen)
    -- each() hands out a copy: changing it changes nothing
    local _, copy = oktell.userstate.each()
    copy.ready = 99
    assert.equal(1, oktell.userstate.ready)
  end)

  it("iterate short names with pairs (Lua 5.2+: __pairs)", function()
    local probe = setmetatable({}, { __pairs = function() return next, { x = 1 }, nil end })
    if select(2, pairs(probe)) == probe then
      pending("this Lua's pairs does not use __pairs (5.1, LuaJIT): use each()")
    end
    local seen = {}
    for name, code in pairs(oktell.userstate) do seen[name] = code end
    assert.same(USER, seen)
    seen = {}
    for name, code in pairs(oktell.linestate) do seen[name] = code end
    assert.same(LINE, seen)
  end)
end)

-- Argo CD health check for statuswatch.io/StatusWatch.
--
-- A StatusWatch is Healthy once every object it lists is Current (condition AllCurrent=True), Degraded when
-- the operator gave up on one of them (Stalled=True: failed, timed out, or the spec cannot be served), and
-- Progressing otherwise: still rolling out, not yet seen by the operator, or a status written for an older
-- generation of the spec (the same rule kstatus applies, so Argo CD and Flux agree).
-- Written for Lua 5.1 (Argo CD's gopher-lua): no goto, no integer division, no table.unpack.

local hs = {}

local function condition(kind)
  if obj.status == nil or obj.status.conditions == nil then
    return nil
  end
  for _, found in ipairs(obj.status.conditions) do
    if found.type == kind then
      return found
    end
  end
  return nil
end

local function describe(found, fallback)
  if found ~= nil and found.message ~= nil and found.message ~= "" then
    return found.message
  end
  return fallback
end

if obj.status == nil or obj.status.conditions == nil then
  hs.status = "Progressing"
  hs.message = "Waiting for the statuswatch operator to report"
  return hs
end

local generation = obj.metadata and obj.metadata.generation
local observed = obj.status.observedGeneration
if generation ~= nil and (observed == nil or observed < generation) then
  hs.status = "Progressing"
  hs.message = "Waiting for the statuswatch operator to observe generation " .. tostring(generation)
  return hs
end

local stalled = condition("Stalled")
if stalled ~= nil and stalled.status == "True" then
  hs.status = "Degraded"
  hs.message = describe(stalled, "Stalled")
  return hs
end

local current = condition("AllCurrent")
if current ~= nil and current.status == "True" then
  hs.status = "Healthy"
  hs.message = describe(current, "All resources are Current")
  return hs
end

hs.status = "Progressing"
hs.message = describe(current, "Waiting for the resources to become Current")
return hs

-- What the `assign` message (scheduler/assign.ts) and the dispatch metrics read of a job besides id, attempt and
-- clients: moveToAssigned returns them instead of the whole hash, which would cost Redis more to convert than
-- the rest of that transition's reads. A library-level table: made once per library load, not per call.
local ASSIGN_FIELDS = { 'cpus', 'root', 'name', 'command', 'commandByOs', 'shell', 'environment', 'maxTime',
  'childError', 'onSuccess', 'onError', 'onCancel', 'onChildError', 'queueTime', 'stallTimeout' }

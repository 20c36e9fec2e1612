-- transfer.lua — wrk script: POST call/transfer, alternating direction so that balances
-- stay positive and every request succeeds.
local n = 0
request = function()
  n = n + 1
  local body = (n % 2 == 0) and '["alice","bob",1]' or '["bob","alice",1]'
  return wrk.format("POST", "/v1/contexts/bank/call/transfer",
                    {["Content-Type"] = "application/json"}, body)
end

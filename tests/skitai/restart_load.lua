-- wrk script for test_restart_under_load.py: after a thread's 200th response,
-- create the file named by WRK_MARK, so the test knows the load is under way
-- before it signals the server.
local seen = 0
local mark = os.getenv("WRK_MARK")

function response(status, headers, body)
    seen = seen + 1
    if seen == 200 and mark then
        local file = io.open(mark, "w")
        file:write("loaded\n")
        file:close()
    end
end

-- py-frameworks-bench "upload": POST multipart/form-data with one 1 KiB file part.
local boundary = "----pfbBoundary7MA4YWxkTrZu0gW"
local line = string.rep("0123456789abcdef", 4) .. "\n"   -- 65 bytes
local file = string.rep(line, 15) .. string.rep("x", 1024 - 15 * 65)
wrk.method = "POST"
wrk.headers["Content-Type"] = "multipart/form-data; boundary=" .. boundary
wrk.body = "--" .. boundary .. "\r\n"
    .. 'Content-Disposition: form-data; name="file"; filename="test.txt"\r\n'
    .. "Content-Type: text/plain\r\n\r\n"
    .. file .. "\r\n--" .. boundary .. "--\r\n"

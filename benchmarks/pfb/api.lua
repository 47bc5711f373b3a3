-- py-frameworks-bench "api": PUT with an Authorization header and a JSON body
-- (the path and its ?query=test come from the URL wrk is given).
wrk.method = "PUT"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "user"
wrk.body = '{"foo": "bar"}'

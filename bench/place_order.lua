-- POST /api/orders/ with a bearer token and one item; BENCH_TOKEN and BENCH_PRODUCT come from run.py.
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer " .. os.getenv("BENCH_TOKEN")
wrk.body = '{"items": [{"product_id": "' .. os.getenv("BENCH_PRODUCT") .. '", "quantity": 1}]}'

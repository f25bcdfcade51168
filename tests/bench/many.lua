-- wrk script for http.sh's many-files row: every request asks for one of MANY_FILES (default
-- 3000) 1 KiB files under /many/, spread over directories of 100, chosen at random. More files
-- are in use than portd's open_file_cache keeps by default (1000): the row shows what a site
-- whose files do not all fit costs, where the other rows ask for one file over and over.
local files = tonumber(os.getenv("MANY_FILES") or "3000")

function setup(thread)
    thread:set("seed", math.random(1, 1000000))
end

function init()
    math.randomseed(seed)
end

function request()
    local n = math.random(0, files - 1)
    return wrk.format(nil, string.format("/many/d%02d/f%04d.bin", math.floor(n / 100), n))
end

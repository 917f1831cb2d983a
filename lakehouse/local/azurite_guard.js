// Preloaded into Azurite (`node --require`): Azurite stops as on SIGTERM when its stdin reaches end of file,
// that is when the Python process holding the other end of the pipe closes it or dies, however it died.
// unref(): the watch alone never keeps Node running, so Azurite still exits once it has closed.
"use strict";
const stop = () => process.kill(process.pid, "SIGTERM");
process.stdin.on("end", stop);
process.stdin.on("error", stop);
process.stdin.resume();
process.stdin.unref();

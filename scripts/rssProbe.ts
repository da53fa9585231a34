// Preloaded into benchmarked processes: reports their peak memory on stderr as they exit.
process.on("exit", () => process.stderr.write(`\nbench-peak-rss-kb ${process.resourceUsage().maxRSS}\n`));

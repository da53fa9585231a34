// How a run's results read: one line per check with its fix, a count of each status, and the exit
// code they make.
import { CheckResult, Status } from "./types";

export function formatResults(results: CheckResult[]): string {
    const lines = results.flatMap((r) => [
        `${r.status.padEnd(9)}  ${r.scope.padEnd(24)}  ${r.check.padEnd(28)}  ${r.message}`,
        ...(r.fix ? [`           fix: ${r.fix}`] : []),
    ]);
    const count = (s: Status) => results.filter((r) => r.status === s).length;
    return [
        ...lines,
        "",
        `${count("PASS")} passed, ${count("FAIL")} failed, ${count("WARN")} warnings, ${count("UNCHECKED")} not checked.`,
    ].join("\n");
}

/**
 * Exit code of a run: 1 when a check failed; else 3 when a check could not run; else 0 (warnings
 * included). 2 when no check could run at all.
 */
export function exitCodeOf(results: CheckResult[]): 0 | 1 | 2 | 3 {
    const judged = results.filter((r) => r.status !== "INFO");
    if (judged.length > 0 && judged.every((r) => r.status === "UNCHECKED")) return 2;
    if (judged.some((r) => r.status === "FAIL")) return 1;
    return judged.some((r) => r.status === "UNCHECKED") ? 3 : 0;
}

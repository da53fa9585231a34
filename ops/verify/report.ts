// How a run's results read: one line per check with its fix, a count of each status, and the exit
// code they make.
import type { ServerReadiness } from "./checks/readiness";
import { ago } from "./checks/readiness";
import { CheckResult, Status } from "./types";

export function formatResults(results: CheckResult[]): string {
    const lines = results.flatMap((r) => [
        `${r.status.padEnd(9)}  ${r.scope.padEnd(24)}  ${r.check.padEnd(28)}  ${r.message}`,
        ...(r.fix ? [`           fix: ${r.fix}`] : []),
    ]);
    const count = (s: Status) => results.filter((r) => r.status === s).length;
    return [
        ...lines,
        ...readinessLines(results),
        "",
        `${count("PASS")} passed, ${count("FAIL")} failed, ${count("WARN")} warnings, ${count("UNCHECKED")} not checked.`,
    ].join("\n");
}

/** server-readiness at a glance: per staging place and target its summary, then one line per server, those not ready first. */
function readinessLines(results: CheckResult[]): string[] {
    const places = results.filter((r) => r.check === "server-readiness" && r.details?.length);
    if (places.length === 0) return [];
    return [
        "",
        "Server readiness (extended, key, replication, lag, backlog, latest point in time, last drill or recovery):",
        ...places.flatMap((r) => [`  ${r.message}`, ...(r.details as unknown as ServerReadiness[]).map(serverLine)]),
    ];
}

function serverLine(s: ServerReadiness): string {
    const name = s.hostname ? `${s.sourceServerID} (${s.hostname})` : s.sourceServerID;
    const key = { yes: "on key", no: "OFF KEY", unencrypted: "unencrypted", "not read": "key ?" }[s.onKey];
    const cells = [
        s.readiness.toUpperCase().padEnd(9),
        name.padEnd(30),
        key.padEnd(11),
        (s.replicationState ?? "state ?").padEnd(12),
        s.lagMinutes === undefined ? "lag ?" : `lag ${span(Math.round(s.lagMinutes))}`,
        s.backlogBytes === undefined ? "backlog ?" : `backlog ${bytes(s.backlogBytes)}`,
        s.pointInTimeAgeMinutes === undefined ? "point in time ?" : `point in time ${ago(s.pointInTimeAgeMinutes)}`,
        lastLaunchCell(s),
    ];
    return `    ${cells.join("  ")}${s.problems.length > 0 ? `: ${s.problems.join("; ")}` : ""}`;
}

/** "drilled 10 days ago", "recovered 2 days ago (failed)", "never drilled", "not extended". */
function lastLaunchCell(s: ServerReadiness): string {
    if (!s.targetSourceServerID) return "not extended";
    if (s.lastLaunchAgeDays === undefined) return "never drilled";
    const [type, status] = (s.lastLaunch ?? "").split(" ");
    return `${type === "RECOVERY" ? "recovered" : "drilled"} ${s.lastLaunchAgeDays} days ago${status === "FAILED" ? " (failed)" : ""}`;
}

/** "45 min", "2 h", "3 days": a duration in minutes. */
function span(minutes: number): string {
    return ago(minutes).replace(/ ago$/, "");
}

function bytes(n: number): string {
    if (n < 1024) return `${n} B`;
    const units = ["KiB", "MiB", "GiB", "TiB"];
    let value = n / 1024;
    let unit = 0;
    while (value >= 1024 && unit < units.length - 1) {
        value /= 1024;
        unit++;
    }
    return `${value.toFixed(1)} ${units[unit]}`;
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

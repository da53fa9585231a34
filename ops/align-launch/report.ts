// align-launch's words and exit code: the plan and each update's result as printed, and
// exitCodeOf. Formatting only: nothing here calls AWS.
import { plural } from "../../config/text";
import { serverName } from "../aws/sourceServers";
import { ApplyOutcome, LaunchPlan, UpdateResult } from "./types";

/** What the command never touches, and why: in --help and docs/align-launch.md. */
export const untouched = [
    "It never changes a server's EC2 launch template itself (DRS writes the launch settings it is sent into",
    "it), and never the launch template's KMS key field, which DRS does not use for the recovery volumes",
    "(their encryption follows the replication settings). launchIntoSourceInstance and exportBucketArn are",
    "the launch template's only: no server has a field of the same meaning, so they are not compared.",
].join("\n");

const value = (v: unknown) => (v === undefined ? "unset" : String(v));

/** The plan in words: per Region, then per server the fields that differ (dry run). */
export function formatPlan(plan: LaunchPlan, apply: boolean): string {
    const lines = apply ? [] : ["Dry run: nothing is changed. Run again with --apply to update the servers listed.", ""];
    for (const region of plan.regions) {
        const selected = region.selected !== undefined ? ` (${region.selected} named by --server)` : "";
        const fields = Object.entries(region.wanted).map(([f, v]) => `${f} ${value(v)}`);
        lines.push(
            `${plan.targetAccountId}/${region.region}: ${plural(region.extended, "server")} extended${selected}, ${region.aligned} with the stack's launch settings, ${region.toChange.length} to update` +
                ` (compared: ${fields.length > 0 ? fields.join(", ") : "nothing: target.launch sets no per-server field here"})`,
        );
        for (const u of region.unreadable) lines.push(`  unreadable ${serverName(u)}: ${u.error}`);
        if (apply) continue;
        for (const s of region.toChange)
            lines.push(`  ${serverName(s)}: ${s.changes.map((c) => `${c.field} ${value(c.now)} -> ${value(c.wanted)}`).join(", ")}`);
    }
    return lines.join("\n");
}

export function formatResult(r: UpdateResult): string {
    return `  ${r.status.padEnd(7)} ${serverName(r)}: ${r.message}`;
}

/**
 * Exit code: 2 could not run (stopped before anything was done); 1 findings (servers to update in
 * a dry run, an update that failed, a stop with servers left); 3 a server whose launch
 * configuration could not be read, nothing else found; 0 done.
 */
export function exitCodeOf(plan: LaunchPlan, outcome?: ApplyOutcome): number {
    if (outcome?.stopped)
        return outcome.stopped.changed === 0 && outcome.results.length === 0 && outcome.stopped.reason === "access" ? 2 : 1;
    const findings = outcome ? outcome.results.some((r) => r.status === "failed") : plan.regions.some((r) => r.toChange.length > 0);
    if (findings) return 1;
    return plan.regions.some((r) => r.unreadable.length > 0) ? 3 : 0;
}

// The failback drill in words: the part of the drill's report --failback adds.
import { serverName } from "../aws/sourceServers";
import { gib } from "./failbackTypes";
import { DrillReport } from "./types";

/** The failback part of the drill's report, in words. */
export function formatFailback(report: DrillReport, command: (flags: string) => string): string[] {
    const f = report.failback!;
    const lines: string[] = [];
    if (report.mode === "failback-plan") lines.push("Dry run: nothing is started. Run again with --start to start the failback drill.", "");
    lines.push(`Failback drill for stack ${report.stack}: drill instances in target account ${report.targetAccountId}.`);
    for (const s of f.servers) {
        const to = s.origin ? `${s.origin.accountId}/${s.origin.region}` : "origin unknown";
        lines.push(
            `  ${s.recoveryInstanceID}${s.sourceServerID ? ` of ${serverName({ sourceServerID: s.sourceServerID, hostname: s.hostname })}` : ""}: back to ${to}, ${gib(s.bytes)}`,
        );
        if (s.expectedKeyArn) lines.push(`    the new source server's key: ${s.expectedKeyArn}`);
        if (s.reversedServerID)
            lines.push(
                `    new source server: ${s.reversedServerID}${s.status ? `, ${s.status}${s.message ? ` (${s.message})` : ""}` : ""}`,
            );
        else if (s.status) lines.push(`    ${s.status}${s.message ? `: ${s.message}` : ""}`);
        if (s.onKey === "yes") lines.push(`    its staging disks' key: yes (${s.expectedKeyArn})`);
        else if (s.onKey === "no") lines.push(`    its staging disks' key: NO, ${s.encryption}, not ${s.expectedKeyArn}`);
    }
    if (f.readiness.length > 0) {
        lines.push("The way back (verify's failback checks):");
        for (const r of f.readiness)
            lines.push(
                `  ${r.status} ${r.check} ${r.scope}: ${r.message}${r.fix && r.status !== "PASS" && r.status !== "INFO" ? ` Fix: ${r.fix}` : ""}`,
            );
    }
    if (f.cost) lines.push(`Cost: ${f.cost}`);
    for (const note of f.notes) lines.push(`Note: ${note}`);
    if (f.cleanup) {
        const c = f.cleanup;
        if (c.removed.length > 0)
            lines.push(
                `Clean-up: disconnected and deleted ${c.removed.join(", ")} at the origin (DRS removes their replication servers and staging disks within 90 minutes).`,
            );
        if (c.kept.length > 0)
            lines.push(
                `Kept (--keep): ${c.kept.join(", ")} still replicate back, and are billed. Remove them with: ${command(`--failback --cleanup ${(report.jobs ?? []).map((j) => `--job ${j.jobID}`).join(" ")}`)}`,
            );
        for (const l of c.left)
            lines.push(
                `LEFT: ${l.sourceServerID} at ${l.origin}: ${l.error}. Remove it with: ${command(`--failback --cleanup ${report.jobs.map((j) => `--job ${j.jobID}`).join(" ")}`)}`,
            );
        if (c.removed.length + c.kept.length + c.left.length === 0) lines.push("Clean-up: no new source server to remove.");
        if (report.mode !== "failback-cleanup")
            lines.push(
                `The drill instances are left as they were: terminate them with ${command(`--cleanup ${report.jobs.map((j) => `--job ${j.jobID}`).join(" ")}`)}.`,
            );
    }
    return lines;
}

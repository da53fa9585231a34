// The drill in words: the report as the terminal shows it (formatReport; --json prints the report
// itself), the plan's cost from the price table, and what `drill --help` says after the options.
import { targetKeyUsePolicyName } from "../../components/defaults";
import { plural } from "../../config/text";
import { PriceTable, drsPriceIn } from "../../plan/pricing";
import { firstFew, healthyReplicationStates, serverName } from "../aws/sourceServers";
import { permissionsHelp } from "../permissions";
import { defaultTrailWaitMinutes } from "./diagnosis";
import { formatFailback } from "./failbackReport";
import { drillTag, runTagKey } from "./job";
import { DrillReport, IdentityReport, LaunchSummary, ServerStatus } from "./types";

function yesNo(v: boolean | undefined): string {
    return v === undefined ? "DRS default" : v ? "yes" : "no";
}

function describeLaunch(l: LaunchSummary): string {
    const parts = [
        `launch ${l.launchDisposition ?? "DRS default"}`,
        `instance type right-sizing ${l.targetInstanceTypeRightSizingMethod ?? "DRS default"}`,
        `copy private IP ${yesNo(l.copyPrivateIp)}`,
        `copy tags ${yesNo(l.copyTags)}`,
        `OS licence ${l.osByol === undefined ? "DRS default" : l.osByol ? "bring your own" : "AWS-provided"}`,
        `post-launch actions ${l.postLaunchEnabled === undefined ? "DRS default" : l.postLaunchEnabled ? "on" : "off"}`,
    ];
    if (l.ec2LaunchTemplateID) parts.push(`EC2 launch template ${l.ec2LaunchTemplateID}`);
    return parts.join(", ");
}

function describeIdentity(i: IdentityReport): string[] {
    const lines: string[] = [];
    if (i.how === "role") lines.push(`Identity: role ${i.roleName}${i.roleArn ? ` (${i.roleArn})` : ""}, ${i.why}.`);
    else lines.push(`Identity: your current credentials (${i.why.replace(/\.$/, "")}).`);
    if (i.keyUsePolicies.length > 0)
        lines.push(`  holds the key-use ${i.keyUsePolicies.length === 1 ? "policy" : "policies"} ${i.keyUsePolicies.join(", ")}`);
    if (i.callerArn) lines.push(`  runs as ${i.callerArn}`);
    // A refusal or an error is listed once, with the other reasons the drill does not start.
    if (i.refusal && i.overridden) lines.push(`  warning (--any-identity): ${i.refusal}`);
    return lines;
}

export function formatReport(report: DrillReport, command: (flags: string) => string): string {
    const lines: string[] = [];
    const plan = report.plan;
    if (report.mode === "dry-run") lines.push("Dry run: nothing is started. Run again with --start to start the drill.", "");
    if (plan) {
        lines.push(
            `Drill plan for stack ${report.stack}: target account ${report.targetAccountId}, key.targetAccess ${report.targetAccess}.`,
        );
        if (report.identity) lines.push(...describeIdentity(report.identity));
        lines.push(
            plan.count !== undefined
                ? `Servers (${plan.count} per staging entry, picked from the healthy extended servers; --count, --server):`
                : "Servers (--server):",
        );
        for (const s of plan.servers) {
            const staging = s.stagingSourceServerID
                ? `, staging server ${s.stagingSourceServerID} in ${s.stagingAccountId}/${s.region}`
                : "";
            lines.push(`  ${serverName(s)}${staging}: replication ${s.replicationState ?? "unknown"}`);
            if (s.onKey === "yes") lines.push(`    on its entry's key: yes (${s.keyArn})`);
            else if (s.onKey === "no") lines.push(`    on its entry's key: NO, ${s.encryption}`);
            else lines.push(`    on its entry's key: not checked: ${s.notChecked ?? "?"}`);
            if (s.launch) lines.push(`    ${describeLaunch(s.launch)}`);
            if (s.launchError) lines.push(`    launch settings: could not read them (${s.launchError})`);
            for (const w of s.warnings) lines.push(`    note: ${w}`);
            if (s.problem) lines.push(`    cannot drill: ${s.problem}`);
        }
        if (plan.servers.length === 0) lines.push("  (none)");
        if (plan.skipped.length > 0)
            lines.push(
                `  passed over: ${firstFew(
                    plan.skipped.map((s) => `${serverName(s)}: ${s.reason}`),
                    3,
                )}`,
            );
        for (const n of plan.notes) lines.push(`  note: ${n}`);
        lines.push(`The drill: ${plan.expected}`, `Cost: ${plan.cost}`);
    } else if (report.identity) {
        lines.push(...describeIdentity(report.identity));
    }
    if (report.failback) lines.push(...formatFailback(report, command));
    if (report.blockers.length > 0) {
        lines.push("", report.mode === "dry-run" || report.mode === "failback-plan" ? "--start would be refused:" : "Refused:");
        for (const b of report.blockers) lines.push(`  ${b}`);
    }
    for (const job of report.jobs) {
        if (job.error) {
            lines.push("", `${job.region}: ${job.error}`);
            continue;
        }
        const results = report.results.filter((r) => r.jobID === job.jobID);
        const took =
            job.creationDateTime && job.endDateTime
                ? `, ${Math.round((Date.parse(job.endDateTime) - Date.parse(job.creationDateTime)) / 60_000)} min`
                : "";
        lines.push("", `Drill job ${job.jobID} in ${job.region}: ${job.status ?? "?"}${took}.`);
        if (job.note) lines.push(`  note: ${job.note}`);
        for (const r of results) lines.push(`  ${r.status.padEnd(11)} ${serverName(r)}: ${r.message ?? ""}`);
    }
    if (report.volumes.length > 0) {
        lines.push("", "Recovered volumes (which key the recovery instances' volumes use):");
        for (const v of report.volumes) {
            const verdict = v.unchecked ? "not checked" : v.key === "target" ? "target key" : `WARNING ${v.key}`;
            lines.push(`  ${verdict.padEnd(20)} ${serverName(v)} (${v.ec2InstanceID ?? v.recoveryInstanceID}): ${v.message}`);
        }
    }
    const c = report.cleanup;
    if (c) {
        lines.push("");
        if (c.terminated.length > 0)
            lines.push(`Clean-up: terminating ${c.terminated.join(", ")} (DRS job ${c.terminateJobIDs.join(", ") || "?"}).`);
        if (c.kept.length > 0)
            lines.push(
                `Kept (--keep): ${c.kept.join(", ")}. Terminate them when done: ${command(`--cleanup ${report.jobs.map((j) => `--job ${j.jobID}`).join(" ")}`)}`,
            );
        if (c.alreadyGone.length > 0) lines.push(`Already terminated: ${c.alreadyGone.join(", ")}.`);
        if (c.left.length > 0) {
            lines.push("Clean-up failed: left running:");
            for (const l of c.left)
                lines.push(`  ${l.recoveryInstanceID}${l.sourceServerID ? ` (${l.sourceServerID})` : ""} in ${l.region}: ${l.error}`);
            lines.push(
                `  Terminate them in the DRS console (Recovery instances), or: ${command(
                    `--cleanup ${report.jobs
                        .filter((j) => j.jobID)
                        .map((j) => `--job ${j.jobID}`)
                        .join(" ")}`,
                )}`,
            );
        }
        if (c.terminated.length + c.kept.length + c.alreadyGone.length + c.left.length === 0)
            lines.push("Clean-up: no recovery instance to terminate.");
        for (const n of c.notes) lines.push(`note: ${n}`);
        if (c.stillRunning.length > 0)
            lines.push(
                `Job ${c.stillRunning.join(", ")} may still launch servers after this run: run ${command(`--cleanup ${c.stillRunning.map((j) => `--job ${j}`).join(" ")}`)} once it ends.`,
            );
    }
    for (const d of report.diagnosis) {
        const trails = d.trails.map((t) => `${t.side} ${t.account}${t.error ? " (not read)" : ""}`).join(" and ");
        lines.push("", `KMS refusals on ${d.keyArn} in the CloudTrail of ${trails} (${d.region}), ${d.from} to ${d.to}: ${d.note}`);
        for (const r of d.refusals) {
            const times = r.count === 1 ? `at ${r.firstSeen}` : `${r.count} times, ${r.firstSeen} to ${r.lastSeen}`;
            lines.push(`  ${r.action} refused (${r.errorCode}) ${times}, logged in ${r.trailAccount}`);
            lines.push(`    who: ${r.principal}`);
            lines.push(`    through: ${r.through}`);
            lines.push(`    why: ${r.cause}`);
            if (r.allowedBy) lines.push(`    allowed by: ${r.allowedBy}`);
            lines.push(`    fix: ${r.fix}`);
        }
    }
    if (report.profile) lines.push("", report.profile);
    if (report.unchecked.length > 0) lines.push("", `Not checked (exit code 3 unless something failed): ${report.unchecked.join("; ")}.`);
    if (report.results.length > 0) {
        const count = (s: ServerStatus) => report.results.filter((r) => r.status === s).length;
        const others = (["timed out", "interrupted", "running"] as const).filter((s) => count(s) > 0).map((s) => `, ${count(s)} ${s}`);
        const left = c && c.left.length > 0 ? ` Clean-up left ${plural(c.left.length, "recovery instance")} running (above).` : "";
        lines.push("", `${count("launched")} launched, ${count("failed")} failed${others.join("")}.${left}`);
    } else if (report.mode === "cleanup" && report.blockers.length === 0) {
        lines.push("", c && c.left.length === 0 ? "Clean-up done." : "Clean-up incomplete.");
    }
    return lines.join("\n").replace(/^\n+/, "");
}

/**
 * The drill's cost in words, from the price table (plan/pricing.ts): DRS's own charge is per
 * replicating server-hour, which the drilled servers incur anyway; what the drill launches (instances,
 * their volumes, the on-demand snapshot) is billed at EC2 and EBS rates, which the table does not hold:
 * their instance types come from each server's EC2 launch template and right-sizing, not from here.
 */
export function drillCost(prices: PriceTable, servers: { region: string }[], timeoutMinutes: number, keep: boolean): string {
    const regions = [...new Set(servers.map((s) => s.region))].sort();
    const drs = regions.map((region) => {
        const price = drsPriceIn(prices, region);
        const n = servers.filter((s) => s.region === region).length;
        return price === undefined
            ? `${region}: no DRS price in the table (--prices drsServerHour)`
            : `${region}: ${plural(n, "server")} x $${price} an hour = $${(n * price).toFixed(2)} an hour`;
    });
    return (
        `${prices.origin} (plan/pricing.ts). DRS's own charge is per replicating server-hour, which the drilled servers incur whether drilled or not` +
        `${drs.length > 0 ? ` (${drs.join("; ")})` : ""}. The drill adds its recovery instances, their EBS volumes and the on-demand snapshot, ` +
        `billed at EC2 and EBS rates while they exist, which the table does not hold (each server's EC2 launch template and right-sizing choose the ` +
        `instance type): up to ${timeoutMinutes} minutes (--timeout) plus the clean-up${keep ? ", and longer: --keep leaves them running" : "; they are terminated at the end unless --keep"}.`
    );
}

/** What `drill --help` says after the options. */
export function drillHelp(): string {
    const healthy = healthyReplicationStates.join(", ");
    return [
        "Proves that the target account can recover the staging accounts' servers with their keys. AWS does not",
        "document which target identity uses the keys in a recovery: only a drill proves the chain. Run it on the",
        "target stack (or a deploy: all stack), after `pulumi up` of the staging stacks and the target stack.",
        "",
        "A plan by default, which starts nothing: the servers (--server, or --count per staging entry from the",
        `healthy extended servers: stagingArea EXTENDED, replication ${healthy},`,
        "no recovery instance yet); whether each is on its entry's key (its staging server's own replication",
        'settings, read in the staging account; "not checked" when that account cannot be reached); the launch',
        "settings that apply; the identity it runs as; the expected duration and cost.",
        "",
        "With --start: StartRecovery with isDrill true (never a recovery), sent once, the job tagged",
        `${drillTag.key}=${drillTag.value} and with this run's ${runTagKey}, as a role holding the key-use policy`,
        `(${targetKeyUsePolicyName}, ${targetKeyUsePolicyName}-2, ...): the first of target.keyUserRoleNames, or --role,`,
        "assumed with your credentials (session drs-cross-account-kms-drill). An identity without the policy is",
        "refused unless --any-identity. If StartRecovery's answer is lost, the job is looked for by the run tag",
        "(DescribeJobs), never started twice. It follows the job (progress on stderr), reports each server",
        "(launched; failed, with the job's own message; timed out), reads which key each recovered instance's",
        "volumes use (a key of the target, or a warning: the staging key, another account's, unencrypted),",
        "terminates the recovery instances (unless --keep; also after a failure, a timeout or Ctrl-C), and for a",
        "server that did not launch reads the refused KMS calls on its key in the CloudTrail of the target and",
        "of the staging account (a refused cross-account call is logged only in the caller's account), naming",
        "the setting or key policy statement that would allow each; AWS's own sessions (EC2's infrastructure",
        "session) are named as such. It reads both trails again until --trail-wait minutes (default",
        `${defaultTrailWaitMinutes}) after the job ended: CloudTrail delivers in about 5 minutes on average, without a guarantee,`,
        '"no KMS refusal found" is said only then; before, "none found yet" (exit 3) with the command that',
        "re-runs only the diagnosis. A drill that launched says which key.targetAccess it proved.",
        "",
        "Examples, one per flag:",
        "  npm run -s drill -- -s target                       # the plan",
        "  npm run -s drill -- -s target --outputs out.json    # no Pulumi CLI: pulumi stack output --json > out.json",
        "  npm run -s drill -- -s target --config-file Pulumi.target.yaml --outputs out.json",
        "  npm run -s drill -- -s target --start               # 1 server per staging entry, as the first key-user role",
        "  npm run -s drill -- -s target --count 3 --start",
        "  npm run -s drill -- -s target --server s-1234567890abcdef0 --server s-234567890abcdef01 --start",
        "  npm run -s drill -- -s target --role DrsRecoveryOperator --start",
        "  npm run -s drill -- -s target --current-credentials --start        # an Identity Center session",
        "  npm run -s drill -- -s target --role Admin --any-identity --start  # insist: no key-use policy",
        "  npm run -s drill -- -s all --target 222233334444 --start  # a stack of several targets: drill one",
        "  npm run -s drill -- -s target --timeout 90 --start",
        "  npm run -s drill -- -s target --keep --start        # leave the drill instances running",
        "  npm run -s drill -- -s target --cleanup --job drsjob-1234567890abcdef0",
        "  npm run -s drill -- -s target --diagnose --job drsjob-1234567890abcdef0",
        "  npm run -s drill -- -s target --failback --job drsjob-1234567890abcdef0  # the way back of a --keep drill",
        "  npm run -s drill -- -s target --failback --start --job drsjob-1234567890abcdef0",
        "  npm run -s drill -- -s target --diagnose --job drsjob-1234567890abcdef0 \\",
        "      --staging-role arn:aws:iam::444455556666:role/DrsReadOnly",
        "  npm run -s drill -- -s target --start --trail-wait 30  # wait longer for CloudTrail",
        "  npm run -s drill -- -s target --start --time-limit 240",
        "  npm run -s drill -- --print-policy drill-identity   # the policy the drill's role needs",
        "  npm run -s drill -- -s target --start --json        # one JSON document on stdout",
        "",
        "With --failback (a plan unless --start; docs/failback.md): on the instances of a drill kept with --keep,",
        "checks the way back as verify does (DRS at the origin, DRS's failback roles, the origin template's key),",
        "then ReverseReplication once per instance, follows the new source server at the origin until it",
        "replicates, checks its key, reads both trails for KMS refusals when it does not get there, and removes",
        "it (DisconnectSourceServer, DeleteSourceServer) unless --keep; --failback --cleanup removes it later.",
        "A failback drill syncs every volume in full back to the origin and the new source server is billed",
        "while it replicates.",
        "",
        "No key-user roles (keyUserRoleNames empty; identityCenter permission sets): sign in with the permission",
        "set in the target account, and the drill runs with those credentials, checking that their role",
        "(AWSReservedSSO_...) holds the key-use policies the permission set references. --current-credentials",
        "does the same in any stack.",
        "",
        ...permissionsHelp("drill"),
        "",
        "In the exit codes, 1 also covers a server interrupted by Ctrl-C, drill instances a failed clean-up left",
        "running, and a --diagnose that finds refused KMS calls or servers that did not launch; 2 also covers a",
        "plan whose --start would be refused (an identity without the key-use policy, a server not on its key, no",
        "server), a job --cleanup may not touch (not this command's drill), and a refused StartRecovery; 3 a plan",
        "with a server whose key could not be checked, a drill whose recovered volumes could not be read, and a",
        "--diagnose whose CloudTrail reads are not complete yet (none found yet, or a trail that could not be read).",
    ].join("\n");
}

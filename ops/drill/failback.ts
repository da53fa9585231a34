// drill --failback: the way back, tried on the instances of a drill kept with --keep. A plan first
// (the job's drill instances, where DRS fails each back to against the stack's failback setting,
// the way back's readiness, the cost: a full resync of every volume); --start reverses replication
// for each, follows the new source server at the origin until it replicates (its staging disks
// exist, on their key), checks that key, reads both trails for KMS refusals when one does not,
// then disconnects and deletes the new source servers (unless --keep). --cleanup removes the new
// source servers of a job's instances after a run that was stopped (docs/failback.md).
import {
    DeleteSourceServerCommand,
    DescribeRecoveryInstancesCommand,
    DescribeReplicationConfigurationTemplatesCommand,
    DisconnectSourceServerCommand,
    GetReplicationConfigurationCommand,
    Job,
    RecoveryInstance,
    ReverseReplicationCommand,
    SourceServer,
} from "@aws-sdk/client-drs";
import { plural } from "../../config/text";
import { gib } from "./failbackTypes";
import { StagingKeyExport, wayBackOf } from "../../program/contract";
import { allPages, answerLost, failure, uncheckedOf } from "../aws/faults";
import { hostnameOf, listSourceServers } from "../aws/sourceServers";
import { type Origin, originDrs, originKey, originOf, wayBackRoles } from "../verify/checks/failback";
import { guarded } from "../verify/outcomes";
import { DrillContext } from "./context";
import { drillTag, jobById, isDrillJob } from "./job";
import { diagnose } from "./proof";
import { FailbackCleanup, FailbackReport, FailbackServer } from "./failbackTypes";
import { DrillReport, defaultPollMs, defaultTimeoutMinutes } from "./types";

const replicating = new Set(["INITIAL_SYNC", "CONTINUOUS", "RESCAN"]);
const regionOfZone = (zone: string | undefined) => /^([a-z]{2}(?:-gov)?-[a-z]+-\d+)/.exec(zone ?? "")?.[1];

/** The failback drill in the mode asked: plan, start (then clean up), or clean up a stopped run. */
export async function failbackDrill(ctx: DrillContext, report: DrillReport): Promise<void> {
    const failback: FailbackReport = { servers: [], readiness: [], cost: "", notes: [] };
    report.failback = failback;
    const jobs = await findJobs(ctx, report);
    if (report.blockers.length > 0) {
        report.exitCode = 2;
        return;
    }
    for (const { job, region } of jobs) failback.servers.push(...(await instancesOf(ctx, report, job, region)));
    await findReversed(ctx, failback, report);
    if (ctx.options.mode === "failback-cleanup") {
        failback.cleanup = await removeReversed(ctx, failback.servers, false);
        report.exitCode = failback.cleanup.left.length > 0 ? 1 : 0;
        return;
    }
    await checkReadiness(ctx, failback, report);
    failback.cost = costOf(failback.servers);
    for (const s of failback.servers) if (s.problem) report.blockers.push(`${s.recoveryInstanceID}: ${s.problem}`);
    for (const r of failback.readiness.filter((x) => x.status === "FAIL")) report.blockers.push(`${r.check} (${r.scope}): ${r.message}`);
    for (const r of failback.readiness.filter((x) => x.status === "UNCHECKED"))
        report.unchecked.push(`${r.check} (${r.scope}): ${r.message}`);
    if (failback.servers.length === 0) report.blockers.push("The jobs have no drill instance left to fail back: they were terminated.");
    if (ctx.options.mode === "failback-plan" || report.blockers.length > 0) {
        report.exitCode = report.blockers.length > 0 ? 2 : report.unchecked.length > 0 ? 3 : 0;
        return;
    }
    if (ctx.deps.signal?.aborted) {
        report.blockers.push("Interrupted before the failback drill started: nothing was started.");
        report.exitCode = 2;
        return;
    }
    try {
        await reverse(ctx, failback);
        const reversed = failback.servers.filter((s) => s.reversedServerID);
        await follow(ctx, reversed);
        await checkKeys(ctx, reversed);
    } finally {
        // Also after an error, and before the diagnosis: the new source servers are billed while they replicate.
        failback.cleanup = await removeReversed(ctx, failback.servers, ctx.options.keep ?? false);
    }
    const notReplicating = failback.servers.filter((s) => s.reversedServerID && s.status !== "replicating" && s.status !== "interrupted");
    if (notReplicating.length > 0) {
        const keys = uniqueKeys(ctx, notReplicating);
        const from = ctx.started - 60_000;
        report.diagnosis = await diagnose(
            ctx,
            keys,
            from,
            ctx.clock.now(),
            ctx.options.jobs ?? [],
            true,
            ctx.command(failbackFlags(ctx, "--start")),
        );
        for (const d of report.diagnosis.filter((x) => x.status === "not-checked" || x.status === "none-yet"))
            report.unchecked.push(`KMS refusals on ${d.keyArn} (${d.note})`);
    }
    for (const s of failback.servers.filter((x) => x.reversedServerID && x.onKey === "not checked"))
        report.unchecked.push(`${s.reversedServerID}: which key its staging disks use`);
    const findings =
        failback.servers.some((s) => s.status !== "replicating" || s.onKey === "no") ||
        failback.cleanup.left.length > 0 ||
        report.diagnosis.some((d) => d.refusals.length > 0);
    report.exitCode = findings ? 1 : report.unchecked.length > 0 ? 3 : 0;
}

const failbackFlags = (ctx: DrillContext, mode: string) =>
    `--failback ${mode} ${(ctx.options.jobs ?? []).map((j) => `--job ${j}`).join(" ")}`.replace(/\s+/g, " ").trim();

/** The --job jobs, found in the stack's Regions; only this command's drill jobs (a real recovery's instances are left alone). */
async function findJobs(ctx: DrillContext, report: DrillReport): Promise<{ job: Job; region: string }[]> {
    const found: { job: Job; region: string }[] = [];
    for (const jobID of ctx.options.jobs ?? []) {
        const hit = await jobById(ctx, jobID, (region) => ctx.access.drs(ctx.target, region));
        if ("notFound" in hit) {
            report.blockers.push(hit.notFound);
            continue;
        }
        if (!isDrillJob(hit.job)) {
            report.blockers.push(
                `Job ${jobID} was not started by this command's drill (no tag ${drillTag.key}=${drillTag.value}): a failback drill reverses only drill instances, never a real recovery's.`,
            );
            continue;
        }
        found.push(hit);
        report.jobs.push({
            region: hit.region,
            jobID,
            sourceServerIDs: (hit.job.participatingServers ?? []).map((p) => p.sourceServerID ?? ""),
            status: hit.job.status,
            creationDateTime: hit.job.creationDateTime,
            endDateTime: hit.job.endDateTime,
        });
    }
    return found;
}

/** A job's live drill instances, each with where DRS fails it back to and the stack's setting for its key. */
async function instancesOf(ctx: DrillContext, report: DrillReport, job: Job, region: string): Promise<FailbackServer[]> {
    const ids = (job.participatingServers ?? [])
        .filter((p) => p.recoveryInstanceID && p.launchStatus !== "TERMINATED")
        .map((p) => p.recoveryInstanceID!);
    if (ids.length === 0) return [];
    const drs = await ctx.access.drs(ctx.target, region);
    const instances = await allPages<RecoveryInstance>("drs:DescribeRecoveryInstances", async (nextToken) => {
        const page = await drs.send(new DescribeRecoveryInstancesCommand({ filters: { recoveryInstanceIDs: ids }, nextToken }));
        return { items: page.items, nextToken: page.nextToken };
    });
    const sourceIds = instances.map((i) => i.sourceServerID).filter((x): x is string => Boolean(x));
    const sources = sourceIds.length > 0 ? await listSourceServers(drs, { sourceServerIDs: sourceIds }) : [];
    return ids.map((id) => {
        const instance = instances.find((i) => i.recoveryInstanceID === id);
        const source = sources.find((s) => s.sourceServerID === instance?.sourceServerID);
        const server: FailbackServer = {
            recoveryInstanceID: id,
            region,
            sourceServerID: instance?.sourceServerID,
            hostname: source ? hostnameOf(source) : undefined,
            bytes: (instance?.recoveryInstanceProperties?.disks ?? []).reduce((sum, d) => sum + (d.bytes ?? 0), 0),
        };
        server.problem = problemOf(ctx, report, server, instance, source);
        return server;
    });
}

/** Why an instance cannot be failed back in a drill, if it cannot; fills in its origin and way back. */
function problemOf(
    ctx: DrillContext,
    report: DrillReport,
    s: FailbackServer,
    instance?: RecoveryInstance,
    source?: SourceServer,
): string | undefined {
    if (!instance) return "DRS does not list it as a recovery instance any more.";
    if (instance.isDrill !== true) return "it is not a drill instance: a failback drill never reverses a real recovery.";
    if (instance.originEnvironment === "ON_PREMISES")
        return "it came from on-premises: its way back is the DRS Failback Client on the machine, which this drill does not run (docs/failback.md).";
    const stagingAccount = source?.stagingArea?.stagingAccountID;
    const key = ctx.input.keys.find((k) => k.accountId === stagingAccount && k.region === s.region);
    const entry = ctx.input.settings.stagingAccounts.find((e) => e.accountId === key?.accountId && e.region === key?.region);
    s.wayBack = key?.wayBack ?? (entry && wayBackOf(entry));
    const originAccount = source?.sourceCloudProperties?.originAccountID;
    const originRegion = source?.sourceCloudProperties?.originRegion ?? regionOfZone(instance.originAvailabilityZone);
    if (originAccount && originRegion) s.origin = { accountId: originAccount, region: originRegion };
    if (!s.wayBack)
        return `the stack has no failback setting for its staging entry (${stagingAccount ?? "?"}/${s.region}): set stagingAccounts[].failback, so the way back is planned and checked.`;
    if (s.wayBack.to === "on-premises")
        return "its entry's failback is to: on-premises, but DRS would fail it back into AWS: check stagingAccounts[].failback.";
    const configured = originOf(s.wayBack)!;
    if (!s.origin) {
        s.origin = configured;
        report.failback!.notes.push(
            `${s.recoveryInstanceID}: DRS does not say its origin; the stack's failback setting (${configured.accountId}/${configured.region}) is taken.`,
        );
    } else if (s.origin.accountId !== configured.accountId || s.origin.region !== configured.region)
        return `DRS fails it back to ${s.origin.accountId}/${s.origin.region}, but the stack's failback setting says ${configured.accountId}/${configured.region}: correct stagingAccounts[].failback.`;
    const own = ctx.input.keys.find((k) => k.accountId === s.origin!.accountId && k.region === s.origin!.region);
    if (own) s.expectedKeyArn = own.keyArn;
    return undefined;
}

/** Reversed servers already at the origin (a run stopped, or a lost answer): found by the instance they replicate. */
async function findReversed(ctx: DrillContext, failback: FailbackReport, report: DrillReport): Promise<void> {
    const origins = new Map<string, Origin>();
    for (const s of failback.servers) if (s.origin) origins.set(`${s.origin.accountId}/${s.origin.region}`, s.origin);
    for (const [place, origin] of origins) {
        try {
            const servers = await listSourceServers(await ctx.access.drs(origin.accountId, origin.region));
            for (const s of failback.servers.filter((x) => x.origin && `${x.origin.accountId}/${x.origin.region}` === place)) {
                const reversed = servers.find(
                    (r) => r.recoveryInstanceId === s.recoveryInstanceID && r.dataReplicationInfo?.dataReplicationState !== "DISCONNECTED",
                );
                if (!reversed) continue;
                s.reversedServerID = reversed.sourceServerID;
                failback.notes.push(
                    `${s.recoveryInstanceID} already replicates back to ${place} as ${reversed.sourceServerID}: it is followed, not reversed again.`,
                );
            }
        } catch (err) {
            if (!uncheckedOf(err, origin.accountId)) throw err;
            report.unchecked.push(`the source servers at the origin ${place} (${failure(err)})`);
        }
    }
}

/** verify's failback checks for each origin and the target, and the key the origin's template names, once per origin. */
async function checkReadiness(ctx: DrillContext, failback: FailbackReport, report: DrillReport): Promise<void> {
    const templateKeys = new Map<string, string | undefined>();
    for (const s of failback.servers.filter((x) => x.origin && !x.problem)) {
        const origin = s.origin!;
        const place = `${origin.accountId}/${origin.region}`;
        if (!templateKeys.has(place)) {
            const scope = `${place} from ${ctx.target}`;
            ctx.io.err(`Checking the way back from ${ctx.target} to ${origin.accountId} in ${origin.region}...\n`);
            for (const [check, body] of [
                ["failback-origin-drs", () => originDrs(ctx.access, origin, ctx.target)],
                ["failback-roles", () => wayBackRoles(ctx.access, origin, ctx.target)],
                ["failback-origin-key", () => originKey(ctx.access, origin, ctx.input.keys)],
            ] as const)
                failback.readiness.push({ check, scope, ...(await guarded(origin.accountId, body)) });
            templateKeys.set(place, s.expectedKeyArn ? undefined : await templateKey(ctx, origin, report));
        }
        s.expectedKeyArn ??= templateKeys.get(place);
    }
}

/** The origin template's key (CUSTOM); undefined when it has none or it cannot be read (said in unchecked). */
async function templateKey(ctx: DrillContext, origin: Origin, report: DrillReport): Promise<string | undefined> {
    try {
        const drs = await ctx.access.drs(origin.accountId, origin.region);
        const items = (await drs.send(new DescribeReplicationConfigurationTemplatesCommand({}))).items ?? [];
        return items[0]?.ebsEncryption === "CUSTOM" ? items[0].ebsEncryptionKeyArn : undefined;
    } catch (err) {
        if (!uncheckedOf(err, origin.accountId)) throw err;
        report.unchecked.push(`the replication template at ${origin.accountId}/${origin.region} (${failure(err)})`);
        return undefined;
    }
}

/** What a failback drill costs: a full resync of every volume into the origin, then the new servers while they replicate. */
function costOf(servers: FailbackServer[]): string {
    const bytes = servers.reduce((sum, s) => sum + s.bytes, 0);
    const crossRegion = servers.filter((s) => s.origin && s.origin.region !== s.region);
    return (
        `Reverse replication copies every volume of ${plural(servers.length, "drill instance")} again (a full sync of ${gib(bytes)}) into the origin's staging area; ` +
        (crossRegion.length > 0
            ? `${gib(crossRegion.reduce((sum, s) => sum + s.bytes, 0))} of it crosses Regions and is billed as cross-Region data transfer; `
            : "") +
        "while they replicate, the new source servers are billed as DRS source servers, with a replication server and staging disks at the origin. " +
        "The drill stops them once their staging disks exist on the key, unless --keep."
    );
}

/** ReverseReplication once per instance not already reversed; a lost answer is looked for at the origin, never resent. */
async function reverse(ctx: DrillContext, failback: FailbackReport): Promise<void> {
    for (const s of failback.servers.filter((x) => !x.reversedServerID)) {
        try {
            const writer = await ctx.access.drsWriter(ctx.target, s.region);
            const answer = await writer.send(new ReverseReplicationCommand({ recoveryInstanceID: s.recoveryInstanceID }));
            const arn = answer.reversedDirectionSourceServerArn;
            const id = /source-server\/(s-[0-9a-zA-Z]{17})$/.exec(arn ?? "")?.[1];
            if (!id) throw new Error(`drs:ReverseReplication answered ${JSON.stringify(arn)}, not the new source server's ARN`);
            s.reversedServerID = id;
            ctx.io.err(
                `Reversed ${s.recoveryInstanceID}: new source server ${id} at ${s.origin!.accountId}/${s.origin!.region}. If this run is stopped, clean up with: ${ctx.command(failbackFlags(ctx, "--cleanup"))}\n`,
            );
        } catch (err) {
            if (answerLost(err)) {
                const found = await listSourceServers(await ctx.access.drs(s.origin!.accountId, s.origin!.region)).catch(
                    () => [] as SourceServer[],
                );
                const reversed = found.find((r) => r.recoveryInstanceId === s.recoveryInstanceID);
                if (reversed?.sourceServerID) {
                    s.reversedServerID = reversed.sourceServerID;
                    failback.notes.push(
                        `ReverseReplication's answer for ${s.recoveryInstanceID} was lost (${failure(err)}); its new source server ${reversed.sourceServerID} was found at the origin: it was not sent again.`,
                    );
                    continue;
                }
            }
            s.status = "not started";
            s.message = `ReverseReplication failed: ${failure(err)}${answerLost(err) ? " (its answer was lost, and no new source server for it was found at the origin; it was not sent again)" : ""}`;
        }
    }
}

/** Reads the new source servers at their origin until each replicates or fails, the timeout, or Ctrl-C. */
async function follow(ctx: DrillContext, servers: FailbackServer[]): Promise<void> {
    const pollMs = ctx.deps.pollMs ?? defaultPollMs;
    const deadline = ctx.clock.now() + (ctx.options.timeoutMinutes ?? defaultTimeoutMinutes) * 60_000;
    const shown = new Map<string, string>();
    for (;;) {
        for (const s of servers.filter((x) => x.status === undefined)) {
            let server: SourceServer | undefined;
            try {
                const drs = await ctx.access.drs(s.origin!.accountId, s.origin!.region);
                server = (await listSourceServers(drs, { sourceServerIDs: [s.reversedServerID!] }))[0];
            } catch (err) {
                ctx.io.err(`warning: reading ${s.reversedServerID} at the origin failed (${failure(err)}); trying again.\n`);
                continue;
            }
            const info = server?.dataReplicationInfo;
            const state = info?.dataReplicationState ?? "unknown";
            const failedStep = info?.dataReplicationInitiation?.steps?.find((step) => step.status === "FAILED");
            if (info?.dataReplicationError?.error || failedStep) {
                s.status = "failed";
                s.message = info?.dataReplicationError?.error
                    ? `${info.dataReplicationError.error}${info.dataReplicationError.rawError ? `: ${info.dataReplicationError.rawError}` : ""}`
                    : `initiation step ${failedStep!.name} failed`;
            } else if (replicating.has(state)) {
                s.status = "replicating";
                s.message = `${state}: its staging disks exist at the origin`;
            }
            const line = `${s.reversedServerID} ${state}${s.status === "failed" ? ` (${s.message})` : ""}`;
            if (shown.get(s.recoveryInstanceID) !== line) {
                shown.set(s.recoveryInstanceID, line);
                ctx.io.err(`${s.recoveryInstanceID} -> ${line}\n`);
            }
        }
        const open = servers.filter((x) => x.status === undefined);
        if (open.length === 0) return;
        const outcome = ctx.deps.signal?.aborted ? "interrupted" : ctx.clock.now() >= deadline ? "timed out" : undefined;
        if (outcome) {
            for (const s of open) {
                s.status = outcome;
                s.message =
                    outcome === "timed out"
                        ? `not replicating after ${ctx.options.timeoutMinutes ?? defaultTimeoutMinutes} minutes`
                        : "stopped by Ctrl-C";
            }
            return;
        }
        await ctx.clock.sleep(Math.min(pollMs, deadline - ctx.clock.now()), ctx.deps.signal);
    }
}

/** The new source servers' own replication settings at the origin: on the key the way back expects? */
async function checkKeys(ctx: DrillContext, servers: FailbackServer[]): Promise<void> {
    for (const s of servers) {
        try {
            const drs = await ctx.access.drs(s.origin!.accountId, s.origin!.region);
            const config = await drs.send(new GetReplicationConfigurationCommand({ sourceServerID: s.reversedServerID }));
            s.encryption = `${config.ebsEncryption ?? "?"}${config.ebsEncryptionKeyArn ? ` ${config.ebsEncryptionKeyArn}` : ""}`;
            s.onKey = !s.expectedKeyArn
                ? "not checked"
                : config.ebsEncryption === "CUSTOM" && config.ebsEncryptionKeyArn === s.expectedKeyArn
                  ? "yes"
                  : "no";
        } catch (err) {
            if (!uncheckedOf(err, s.origin!.accountId)) throw err;
            s.onKey = "not checked";
            s.encryption = `not read (${failure(err)})`;
        }
    }
}

/** The keys whose trails the diagnosis reads: each origin key, as a staging key of the origin's account. */
function uniqueKeys(ctx: DrillContext, servers: FailbackServer[]): StagingKeyExport[] {
    const keys = new Map<string, StagingKeyExport>();
    for (const s of servers) {
        if (!s.expectedKeyArn || keys.has(s.expectedKeyArn)) continue;
        // An origin that is a staging entry of the stack uses its key: the diagnosis weighs the program's statements.
        const own = ctx.input.keys.find((k) => k.keyArn === s.expectedKeyArn);
        keys.set(
            s.expectedKeyArn,
            own ?? {
                accountId: s.origin!.accountId,
                region: s.origin!.region,
                keyArn: s.expectedKeyArn,
                keyId: s.expectedKeyArn.split("/").pop()!,
                aliasName: "",
                stagingRoleArn: "",
            },
        );
    }
    return [...keys.values()];
}

/** Disconnects and deletes each new source server (DRS removes its staging resources within 90 minutes); --keep leaves them. */
async function removeReversed(ctx: DrillContext, servers: FailbackServer[], keep: boolean): Promise<FailbackCleanup> {
    const cleanup: FailbackCleanup = { removed: [], kept: [], left: [] };
    for (const s of servers.filter((x) => x.reversedServerID)) {
        const place = `${s.origin!.accountId}/${s.origin!.region}`;
        if (keep) {
            cleanup.kept.push(s.reversedServerID!);
            continue;
        }
        try {
            const writer = await ctx.access.drsWriter(s.origin!.accountId, s.origin!.region);
            await writer.send(new DisconnectSourceServerCommand({ sourceServerID: s.reversedServerID })).catch((err) => {
                // Disconnected already (a second run): DRS answers a conflict; anything else stops here.
                if ((err as Error).name !== "ConflictException") throw err;
            });
            await writer.send(new DeleteSourceServerCommand({ sourceServerID: s.reversedServerID }));
            cleanup.removed.push(s.reversedServerID!);
        } catch (err) {
            if ((err as Error).name === "ResourceNotFoundException") {
                cleanup.removed.push(s.reversedServerID!);
                continue;
            }
            cleanup.left.push({ sourceServerID: s.reversedServerID!, origin: place, error: failure(err) });
        }
    }
    return cleanup;
}

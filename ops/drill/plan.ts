// The plan, which starts nothing: the servers to drill (--server, or --count healthy ones per
// staging entry), whether each is on its entry's key (read in the staging account, where its
// replication settings live), the launch settings DRS applies, and the expected duration and cost.
import { DrsClient, GetLaunchConfigurationCommand, SourceServer } from "@aws-sdk/client-drs";
import { failure, isAccessDenied, UnreachableAccount } from "../aws/faults";
import { pricesFor } from "../../plan/pricing";
import {
    describeEncryption,
    healthyReplicationStates,
    hostnameOf,
    isOnKey,
    listSourceServers,
    readServerEncryption,
    serverIdOfArn,
} from "../aws/sourceServers";
import { type StagingKeyExport } from "../../program/contract";
import { plural } from "../../config/text";
import { DrillContext } from "./context";
import { drillCost } from "./report";
import { DrillReport, PlannedServer, defaultCount, defaultTimeoutMinutes } from "./types";

/** The staging server's ID, from the extended server's stagingArea.stagingSourceServerArn. */
export function stagingServerIdOf(server: SourceServer): string | undefined {
    return serverIdOfArn(server.stagingArea?.stagingSourceServerArn);
}

/** The plan of this run's options; a staging place the time limit reaches first is left unplanned. */
export async function planDrill(ctx: DrillContext, progress: (line: string) => void): Promise<NonNullable<DrillReport["plan"]>> {
    const named = ctx.options.servers && ctx.options.servers.length > 0 ? ctx.options.servers : undefined;
    const count = named ? undefined : (ctx.options.count ?? defaultCount);
    const servers: PlannedServer[] = [];
    const skipped: NonNullable<DrillReport["plan"]>["skipped"] = [];
    const notes: string[] = [];
    const found = new Set<string>();
    const targetClients = new Map<string, Promise<DrsClient>>();
    const targetDrs = (region: string) => {
        if (!targetClients.has(region)) targetClients.set(region, ctx.access.drs(ctx.target, region));
        return targetClients.get(region)!;
    };
    const unplanned: string[] = [];
    for (const key of ctx.input.keys) {
        const scope = `${key.accountId}/${key.region}`;
        if (ctx.deadline.reached()) {
            unplanned.push(scope);
            continue;
        }
        progress(`Listing the servers extended from ${scope} into the target ${ctx.target}...`);
        const drs = await targetDrs(key.region);
        const extended = (await listSourceServers(drs, { stagingAccountIDs: [key.accountId] })).filter(
            (s) => (s.stagingArea?.stagingAccountID ?? key.accountId) === key.accountId,
        );
        if (named) {
            for (const server of extended) {
                const id = server.sourceServerID ?? "";
                const stagingId = stagingServerIdOf(server);
                const names = named.filter((n) => n === id || n === stagingId);
                const asked = names[0];
                if (!asked || found.has(id)) continue;
                for (const n of [...names, id]) found.add(n);
                const planned = await planServer(ctx, drs, key, server);
                if (asked !== id)
                    planned.warnings.push(`--server ${asked} is the staging server; its extended server in the target is ${id}.`);
                servers.push(planned);
            }
            continue;
        }
        progress(`Picking ${plural(count!, "healthy server")} extended from ${scope}...`);
        let picked = 0;
        for (const server of extended) {
            if (picked >= count!) break;
            const id = server.sourceServerID ?? "";
            const reason = unpickable(server);
            if (reason) {
                skipped.push({ sourceServerID: id, hostname: hostnameOf(server), region: key.region, reason });
                continue;
            }
            const planned = await planServer(ctx, drs, key, server);
            if (planned.onKey === "no") {
                skipped.push({
                    sourceServerID: id,
                    hostname: planned.hostname,
                    region: key.region,
                    reason: `not on its entry's key (${planned.encryption})`,
                });
                continue;
            }
            servers.push(planned);
            picked++;
        }
        if (picked < count!) {
            notes.push(
                picked === 0
                    ? `No healthy extended server from ${scope} to drill (${plural(extended.length, "server")} extended): its key is not proven by this drill.`
                    : `Only ${picked} of ${count} healthy extended servers from ${scope} to drill.`,
            );
        }
    }
    if (named) {
        for (const id of named.filter((n) => !found.has(n))) {
            servers.push({
                sourceServerID: id,
                region: "?",
                stagingAccountId: "?",
                keyArn: "?",
                onKey: "not checked",
                warnings: [],
                problem: `no server extended from the stack's staging accounts has this ID in the target ${ctx.target} (Regions ${ctx.regions.join(", ")}).`,
            });
        }
    }
    if (unplanned.length > 0)
        notes.push(`The ${ctx.deadline.minutes}-minute --time-limit came before ${unplanned.join(", ")} could be planned: not planned.`);
    const timeoutMinutes = ctx.options.timeoutMinutes ?? defaultTimeoutMinutes;
    const drillable = servers.filter((s) => !s.problem);
    const regions = [...new Set(drillable.map((s) => s.region))];
    return {
        servers,
        skipped,
        notes,
        unplanned,
        count,
        timeoutMinutes,
        expected:
            `${plural(regions.length, "job")} (one per Region${regions.length > 0 ? `: ${regions.join(", ")}` : ""}) with ${plural(drillable.length, "server")}, ` +
            `from the latest data (DRS takes an on-demand snapshot); DRS usually launches drill instances in 10 to 30 minutes, ` +
            `longer for many or large disks. This run follows the job for up to ${timeoutMinutes} minutes (--timeout).`,
        cost: drillCost(pricesFor(ctx.options.prices, ctx.input.settings.pricing), drillable, timeoutMinutes, ctx.options.keep ?? false),
    };
}

/** Why --count does not pick this server, or undefined. */
function unpickable(server: SourceServer): string | undefined {
    const area = server.stagingArea;
    if (area?.status !== "EXTENDED") return `stagingArea ${area?.status ?? "unknown"}${area?.errorMessage ? `: ${area.errorMessage}` : ""}`;
    const state = server.dataReplicationInfo?.dataReplicationState ?? "UNKNOWN";
    if (!healthyReplicationStates.includes(state)) return `replication ${state}, not ${healthyReplicationStates.join(", ")}`;
    if (server.recoveryInstanceId) return `has a recovery instance already (${server.recoveryInstanceId})`;
    return undefined;
}

async function planServer(ctx: DrillContext, targetDrs: DrsClient, key: StagingKeyExport, server: SourceServer): Promise<PlannedServer> {
    const id = server.sourceServerID ?? "";
    const planned: PlannedServer = {
        sourceServerID: id,
        hostname: hostnameOf(server),
        region: key.region,
        stagingAccountId: key.accountId,
        keyArn: key.keyArn,
        stagingSourceServerID: stagingServerIdOf(server),
        replicationState: server.dataReplicationInfo?.dataReplicationState,
        onKey: "not checked",
        warnings: [],
    };
    const area = server.stagingArea;
    if (area?.status !== "EXTENDED") {
        planned.problem =
            area?.status === "EXTENSION_ERROR"
                ? `extension error: ${area.errorMessage ?? "no message"}. Fix the extension first (verify's extended-server-replication check).`
                : `not extended from a staging account (stagingArea ${area?.status ?? "unknown"}).`;
    } else if (server.recoveryInstanceId) {
        planned.problem =
            `it has a recovery instance already (${server.recoveryInstanceId}), perhaps a real recovery: a drill could replace it. ` +
            "Terminate it first if it is a previous drill's (--cleanup --job <that drill's job>), or drill another server.";
    } else if (!healthyReplicationStates.includes(planned.replicationState ?? "UNKNOWN")) {
        planned.warnings.push(
            `replication is ${planned.replicationState ?? "UNKNOWN"}, not ${healthyReplicationStates.join(", ")}: the drill launches from its last point in time.`,
        );
    }
    await checkOnKey(ctx, key, planned);
    if (planned.onKey === "no" && !planned.problem) {
        planned.problem =
            `its replication in ${key.accountId} is ${planned.encryption}, not its entry's key ${key.keyArn}: it cannot be recovered in the target. ` +
            "Move it first: npm run -s align-servers -- -s <staging stack> --server " +
            `${planned.stagingSourceServerID ?? "<its staging server ID>"} --apply.`;
    }
    try {
        const c = await targetDrs.send(new GetLaunchConfigurationCommand({ sourceServerID: id }));
        planned.launch = {
            launchDisposition: c.launchDisposition,
            targetInstanceTypeRightSizingMethod: c.targetInstanceTypeRightSizingMethod,
            copyPrivateIp: c.copyPrivateIp,
            copyTags: c.copyTags,
            osByol: c.licensing?.osByol,
            postLaunchEnabled: c.postLaunchEnabled,
            ec2LaunchTemplateID: c.ec2LaunchTemplateID,
            launchIntoInstanceID: c.launchIntoInstanceProperties?.launchIntoEC2InstanceID,
        };
        if (c.copyPrivateIp)
            planned.warnings.push(
                "copyPrivateIp is on: the drill instance takes the source server's private IP; launch into an isolated subnet (the EC2 launch template's).",
            );
        if (c.launchIntoInstanceProperties?.launchIntoEC2InstanceID)
            planned.warnings.push(
                `it launches into the existing instance ${c.launchIntoInstanceProperties.launchIntoEC2InstanceID}: a drill would use that instance.`,
            );
    } catch (err) {
        planned.launchError = failure(err);
    }
    return planned;
}

/** The staging server's own replication configuration (docs/aws-requirements.md, "Per-server replication settings"). */
async function checkOnKey(ctx: DrillContext, key: StagingKeyExport, planned: PlannedServer): Promise<void> {
    const stagingId = planned.stagingSourceServerID;
    if (!stagingId) {
        planned.notChecked = "the target does not name the staging server (stagingArea.stagingSourceServerArn).";
        return;
    }
    try {
        const drs = await stagingDrs(ctx, key.accountId, key.region);
        const [staged] = await listSourceServers(drs, { sourceServerIDs: [stagingId] });
        if (!staged) {
            planned.notChecked = `no source server ${stagingId} in ${key.accountId}/${key.region}.`;
            return;
        }
        const encryption = await readServerEncryption(drs, staged);
        planned.onKey = isOnKey(encryption, key.keyArn) ? "yes" : "no";
        planned.encryption = describeEncryption(encryption);
    } catch (err) {
        planned.notChecked =
            err instanceof UnreachableAccount
                ? `${err.message} (give a role with --staging-role, or run on a stack whose config names stagingAccounts[].roleArn).`
                : isAccessDenied(err)
                  ? `the credentials for ${key.accountId} may not read it (${failure(err)}).`
                  : `${failure(err)}.`;
    }
}

function stagingDrs(ctx: DrillContext, account: string, region: string): Promise<DrsClient> {
    const id = `${account}/${region}`;
    if (!ctx.stagingClients.has(id)) ctx.stagingClients.set(id, ctx.access.drs(account, region));
    return ctx.stagingClients.get(id)!;
}

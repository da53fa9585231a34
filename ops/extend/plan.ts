// The plan: per staging key (account and Region), the servers DRS lists as extensible into the
// target, those extended already, those that cannot be (the default EBS key, not replicating),
// and those that would be. The target side decides; the staging side, when its credentials are at
// hand, says which servers DRS would refuse or should not get yet. Reads only.
import { DrsClient, SourceServer } from "@aws-sdk/client-drs";
import { plural } from "../../config/text";
import { StagingKeyExport } from "../../program/contract";
import { AwsAccess } from "../aws/access";
import { AccessStop, calling } from "../aws/calls";
import { UnreachableAccount, failure, uncheckedOf } from "../aws/faults";
import {
    ServerEncryption,
    describeEncryption,
    healthyReplicationStates,
    hostnameOf,
    listSourceServers,
    readServerEncryption,
    replicatingHere,
} from "../aws/sourceServers";
import { byStagingId, extendedFrom, listExtensible, serverIdOfArn } from "./calls";
import { defaultKeyAdvice } from "./report";
import { CannotExtend, ExtendPlan, KeyPlan, ServerToExtend, StagingServer } from "./types";

export interface PlanOptions {
    /** --server: staging server IDs. */
    servers?: string[];
    /** target.unprotectedServers: servers left out of this target on purpose. */
    leftOut?: { sourceServerId: string; reason: string }[];
    /** The staging stack align-servers runs on, for the advice on default-key servers. */
    stagingStack?: string;
    progress?: (line: string) => void;
}

/** How the staging side answered: its replicating servers and a client to read them, or why it could not be read. */
type StagingSide = { drs: DrsClient; servers: Map<string, SourceServer> } | { unread: string };

const stagingRoleHint = "give a role there with --staging-role, or run on a stack whose config names stagingAccounts[].roleArn";

/** Why the staging account could not be read, in words; an error none of the known faults explains is let through. */
function stagingWhy(err: unknown, account: string, call: string): string {
    if (err instanceof AccessStop) return `${err.message} (${stagingRoleHint})`;
    if (err instanceof UnreachableAccount) return `${err.message} (${stagingRoleHint})`;
    const unchecked = uncheckedOf(err, account, call);
    if (!unchecked) throw err;
    return unchecked.kind === "refused" || unchecked.kind === "unreachable" ? `${unchecked.why} (${stagingRoleHint})` : unchecked.why;
}

async function readStaging(aws: AwsAccess, key: StagingKeyExport): Promise<StagingSide> {
    try {
        const drs = await aws.drs(key.accountId, key.region);
        const servers = replicatingHere(await listSourceServers(drs));
        return { drs, servers: new Map(servers.map((s) => [s.sourceServerID ?? "", s])) };
    } catch (err) {
        return { unread: stagingWhy(err, key.accountId, "drs:DescribeSourceServers") };
    }
}

/**
 * Per staging key: what DRS lists as extensible into the target, what is extended already, and of
 * the rest what would be extended and what not (and why). Throws CannotExtend at an access error on
 * the target side (nothing can be planned without it); the staging side unread is said, not fatal.
 */
export async function planExtension(
    keys: StagingKeyExport[],
    targetAccountId: string,
    tags: Record<string, string>,
    aws: AwsAccess,
    options: PlanOptions = {},
): Promise<ExtendPlan> {
    const wanted = options.servers && options.servers.length > 0 ? new Set(options.servers) : undefined;
    const named = (id: string) => !wanted || wanted.has(id);
    /** The --server IDs some staging key knows, so the others are unknown. */
    const found = new Set<string>();
    const leftOut = new Map((options.leftOut ?? []).map((u) => [u.sourceServerId, u.reason]));
    const plans: KeyPlan[] = [];
    for (const key of keys) {
        const scope = `${key.accountId}/${key.region}`;
        const plan: KeyPlan = {
            stagingAccountId: key.accountId,
            region: key.region,
            targetAccountId,
            extensible: 0,
            alreadyExtended: [],
            toExtend: [],
            cannotExtend: [],
            leftOut: [],
        };
        plans.push(plan);
        options.progress?.(`Reading ${scope}: the servers DRS lists as extensible into ${targetAccountId}, and those extended already...`);
        let extensible: StagingServer[];
        let extended: SourceServer[];
        try {
            const drs = await calling(targetAccountId, "drs:ListExtensibleSourceServers", () => aws.drs(targetAccountId, key.region));
            extensible = (
                await calling(targetAccountId, "drs:ListExtensibleSourceServers", () => listExtensible(drs, key.accountId))
            ).flatMap((s) => {
                const id = serverIdOfArn(s.arn);
                return id && s.arn ? [{ sourceServerID: id, arn: s.arn, hostname: s.hostname }] : [];
            });
            extended = await calling(targetAccountId, "drs:DescribeSourceServers", () => extendedFrom(drs, key.accountId));
        } catch (err) {
            if (err instanceof AccessStop) throw new CannotExtend(`Could not plan: ${err.message}. Nothing was changed.`);
            const unchecked = uncheckedOf(err, targetAccountId);
            if (!unchecked) throw err;
            plan.targetUnread = unchecked.why;
            continue;
        }
        plan.extensible = extensible.length;
        const extendedById = byStagingId(extended);
        /** This entry's servers that --server names (all of them without it). */
        const here = new Set<string>();
        for (const [id, server] of extendedById) {
            if (!named(id)) continue;
            here.add(id);
            const arn = server.stagingArea?.stagingSourceServerArn ?? "";
            const listed = { sourceServerID: id, arn, hostname: hostnameOf(server) };
            const status = server.stagingArea?.status ?? "unknown";
            if (status === "EXTENSION_ERROR") {
                plan.cannotExtend.push({
                    ...listed,
                    reason: "extension-error",
                    extendedServerID: server.sourceServerID,
                    message: `extended as ${server.sourceServerID}, but its extension failed (EXTENSION_ERROR): ${server.stagingArea?.errorMessage ?? "DRS gives no message"}`,
                });
            } else plan.alreadyExtended.push({ ...listed, extendedServerID: server.sourceServerID ?? "", status });
        }
        const candidates = extensible.filter((s) => named(s.sourceServerID) && !extendedById.has(s.sourceServerID));
        candidates.forEach((s) => here.add(s.sourceServerID));
        const staging = await readStaging(aws, key);
        const stagingServers = "unread" in staging ? new Map<string, SourceServer>() : staging.servers;
        for (const id of stagingServers.keys()) if (named(id)) here.add(id);
        here.forEach((id) => found.add(id));
        if (wanted) plan.selected = here.size;
        for (const server of candidates) {
            const reason = leftOut.get(server.sourceServerID);
            if (reason !== undefined) plan.leftOut.push({ ...server, reason });
        }
        const toJudge = candidates.filter((s) => !leftOut.has(s.sourceServerID));
        if ("unread" in staging) {
            plan.stagingUnread = staging.unread;
            plan.toExtend = toJudge.map((s) => ({ ...s, notChecked: "the staging account was not read" }));
            continue;
        }
        if (toJudge.length > 0)
            options.progress?.(`Reading the replication configuration of ${plural(toJudge.length, "source server")} in ${scope}...`);
        const encryptions = new Map<string, ServerEncryption | string>();
        try {
            for (const server of toJudge) {
                const there = stagingServers.get(server.sourceServerID);
                if (!there) continue;
                try {
                    const read = await calling(key.accountId, "drs:GetReplicationConfiguration", () =>
                        readServerEncryption(staging.drs, there),
                    );
                    encryptions.set(server.sourceServerID, read);
                } catch (err) {
                    if (err instanceof AccessStop) throw err;
                    encryptions.set(server.sourceServerID, failure(err));
                }
            }
        } catch (err) {
            plan.stagingUnread = stagingWhy(err, key.accountId, "drs:GetReplicationConfiguration");
            plan.toExtend = toJudge.map((s) => ({ ...s, notChecked: "the staging account was not read" }));
            continue;
        }
        for (const server of toJudge) {
            const there = stagingServers.get(server.sourceServerID);
            const listed = { ...server, hostname: server.hostname ?? (there && hostnameOf(there)) };
            if (!there) {
                plan.toExtend.push({ ...listed, notChecked: `it is not among the source servers replicating in ${scope}` });
                continue;
            }
            const encryption = encryptions.get(server.sourceServerID)!;
            const state = there.dataReplicationInfo?.dataReplicationState ?? "unknown";
            const entry: ServerToExtend = {
                ...listed,
                replicationState: state,
                originAccountId: there.sourceCloudProperties?.originAccountID,
            };
            if (typeof encryption === "string") entry.notChecked = `its replication configuration could not be read (${encryption})`;
            else {
                entry.encryption = describeEncryption(encryption);
                if (encryption.ebsEncryption === "DEFAULT") {
                    plan.cannotExtend.push({
                        ...listed,
                        reason: "default-key",
                        message: `on ${entry.encryption}: DRS cannot extend a server on the default EBS key. ${defaultKeyAdvice(options.stagingStack, server.sourceServerID)}`,
                    });
                    continue;
                }
                if (encryption.ebsEncryption === "CUSTOM" && encryption.ebsEncryptionKeyArn !== key.keyArn)
                    entry.warning = `on another key than the entry's (${encryption.ebsEncryptionKeyArn ?? "no key ARN"}): the target recovers it only if that key's policy lets it; align-servers moves it onto ${key.keyArn}`;
            }
            if (!healthyReplicationStates.includes(state)) {
                plan.cannotExtend.push({
                    ...listed,
                    reason: "not-replicating",
                    message: `its data replication is ${state} (healthy: ${healthyReplicationStates.join(", ")}): extend it once it replicates again`,
                });
                continue;
            }
            plan.toExtend.push(entry);
        }
        // Replicating in the staging account, neither extended nor extensible: nothing this run can do, but unprotected.
        const extensibleIds = new Set(extensible.map((s) => s.sourceServerID));
        for (const [id, server] of stagingServers) {
            if (!named(id) || extendedById.has(id) || extensibleIds.has(id)) continue;
            const listed = { sourceServerID: id, arn: server.arn ?? "", hostname: hostnameOf(server) };
            const reason = leftOut.get(id);
            if (reason !== undefined) plan.leftOut.push({ ...listed, reason });
            else
                plan.cannotExtend.push({
                    ...listed,
                    reason: "not-listed",
                    message: `replicates in ${scope}, but DRS does not list it as extensible into ${targetAccountId}, and it is not extended there`,
                });
        }
    }
    return { targetAccountId, tags, keys: plans, unknownServers: wanted ? [...wanted].filter((id) => !found.has(id)) : [] };
}

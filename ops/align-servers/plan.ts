// The plan: per staging key, which servers move onto it. The replication template is only the
// default for servers added later; every server keeps its own replication configuration
// (docs/aws-requirements.md, "Per-server replication settings"), so each server is read. Reads only.
import { SourceServer } from "@aws-sdk/client-drs";
import { DescribeKeyCommand, GetKeyPolicyCommand } from "@aws-sdk/client-kms";
import {
    PolicyDocument,
    accountRootArn,
    allowStatements,
    awsPrincipals,
    grantsAction,
    parseKeyArn,
    parsePolicyDocument,
    partitionOf,
} from "../../components/policies";
import { AwsAccess } from "../aws/access";
import { failure, MalformedAnswer, uncheckedOf } from "../aws/faults";
import { hostnameOf, isOnKey, listSourceServers, readServerEncryption, replicatingHere } from "../aws/sourceServers";
import { StagingKeyExport } from "../../program/contract";
import { AccessStop, calling } from "../aws/calls";
import { pointInTimeOnKey } from "./calls";
import { AlignmentPlan, CannotAlign, KeyPlan, OldKey, ServerMove } from "./types";

/** Why a key in this state cannot take servers, or undefined when it is Enabled. */
function refusal(keyArn: string, state: string, deletionDate?: Date): string | undefined {
    if (state === "Enabled") return undefined;
    if (state === "NotFound") return `key ${keyArn} does not exist. Run \`pulumi refresh\` and \`pulumi up\` on the staging stack.`;
    if (state === "PendingDeletion") {
        return (
            `key ${keyArn} is scheduled for deletion on ${deletionDate?.toISOString() ?? "an unknown date"}: everything it encrypts becomes unrecoverable then. ` +
            `Cancel the deletion and enable it first (aws kms cancel-key-deletion, then aws kms enable-key).`
        );
    }
    if (state === "Disabled") return `key ${keyArn} is Disabled: DRS cannot encrypt with it. Enable it first (aws kms enable-key).`;
    return `key ${keyArn} is ${state}, not Enabled.`;
}

export interface PlanOptions {
    servers?: string[];
    /** --include-unencrypted: move NONE servers onto the key too. */
    includeUnencrypted?: boolean;
    /** --batch: also find the servers on the key that have no point in time on it yet. */
    batch?: number;
    /** The target accounts, for whether they can still use an old key's points in time. */
    targets?: string[];
    progress?: (line: string) => void;
}

/**
 * Per staging key: the key's state, the servers replicating into its staging area, how many are
 * already on it, which would move, which replicate unencrypted, the old keys they leave, and with
 * --batch which are still resyncing. Reads only. Throws CannotAlign at an access error.
 */
export async function planAlignment(keys: StagingKeyExport[], aws: AwsAccess, options: PlanOptions = {}): Promise<AlignmentPlan> {
    const wanted = options.servers && options.servers.length > 0 ? new Set(options.servers) : undefined;
    const found = new Set<string>();
    const plans: KeyPlan[] = [];
    try {
        for (const key of keys) {
            const scope = `${key.accountId}/${key.region}`;
            const kms = await calling(key.accountId, "kms:DescribeKey", () => aws.kms(key.accountId, key.region));
            let keyState = "NotFound";
            let deletionDate: Date | undefined;
            try {
                const { KeyMetadata: m } = await calling(key.accountId, "kms:DescribeKey", () =>
                    kms.send(new DescribeKeyCommand({ KeyId: key.keyArn })),
                );
                keyState = m?.KeyState ?? "unknown";
                deletionDate = m?.DeletionDate;
            } catch (err) {
                if ((err as Error).name !== "NotFoundException") throw err;
            }
            const drs = await calling(key.accountId, "drs:DescribeSourceServers", () => aws.drs(key.accountId, key.region));
            const here = replicatingHere(await calling(key.accountId, "drs:DescribeSourceServers", () => listSourceServers(drs)));
            const chosen = wanted ? here.filter((s) => wanted.has(s.sourceServerID ?? "")) : here;
            chosen.forEach((s) => found.add(s.sourceServerID ?? ""));
            options.progress?.(`Reading the replication configuration of ${chosen.length} source servers in ${scope}...`);
            const plan: KeyPlan = {
                accountId: key.accountId,
                region: key.region,
                keyArn: key.keyArn,
                keyState,
                refused: refusal(key.keyArn, keyState, deletionDate),
                replicating: here.length,
                selected: wanted ? chosen.length : undefined,
                alreadyOnKey: 0,
                toMove: [],
                unencrypted: [],
                resyncing: [],
                unreadable: [],
                oldKeys: [],
            };
            const onKey: SourceServer[] = [];
            for (const server of chosen) {
                let current;
                try {
                    current = await calling(key.accountId, "drs:GetReplicationConfiguration", () => readServerEncryption(drs, server));
                } catch (err) {
                    if (err instanceof AccessStop) throw err;
                    plan.unreadable.push({
                        sourceServerID: server.sourceServerID ?? "",
                        hostname: hostnameOf(server),
                        error: failure(err),
                    });
                    continue;
                }
                const move = { ...current, newKeyArn: key.keyArn };
                if (isOnKey(current, key.keyArn)) {
                    plan.alreadyOnKey++;
                    onKey.push(server);
                } else if (current.ebsEncryption === "NONE" && !options.includeUnencrypted) plan.unencrypted.push(move);
                else plan.toMove.push(move);
            }
            plan.oldKeys = await oldKeysOf(aws, key, plan.toMove, options.targets ?? []);
            if (options.batch && !plan.refused) {
                const ec2 = await calling(key.accountId, "ec2:DescribeSnapshots", () => aws.ec2(key.accountId, key.region));
                for (const server of onKey) {
                    const pit = await calling(key.accountId, "drs:DescribeRecoverySnapshots", () =>
                        pointInTimeOnKey(drs, ec2, key.accountId, server.sourceServerID ?? "", key.keyArn),
                    );
                    if (!pit.onKey)
                        plan.resyncing.push({ sourceServerID: server.sourceServerID ?? "", hostname: hostnameOf(server), why: pit.what });
                }
            }
            plans.push(plan);
        }
    } catch (err) {
        if (err instanceof AccessStop) throw new CannotAlign(`Could not plan: ${err.message}. Nothing was changed.`);
        const scope = keys[plans.length] ? ` ${keys[plans.length].accountId}/${keys[plans.length].region}` : "";
        throw new CannotAlign(`Could not plan${scope}: ${failure(err)}. Nothing was changed.`);
    }
    return { keys: plans, unknownServers: wanted ? [...wanted].filter((id) => !found.has(id)) : [] };
}

/**
 * The old customer managed keys of the servers to move, and for each target whether the key's policy
 * lets it use the key (kms:ReEncryptFrom, as the DRS multi-account page's statement for the target
 * does): if so, points in time taken before the move stay recoverable there while the key is kept.
 */
async function oldKeysOf(aws: AwsAccess, key: StagingKeyExport, moves: ServerMove[], targets: string[]): Promise<OldKey[]> {
    const arns = [
        ...new Set(moves.filter((m) => m.ebsEncryption === "CUSTOM" && m.ebsEncryptionKeyArn).map((m) => m.ebsEncryptionKeyArn!)),
    ];
    const found: OldKey[] = [];
    for (const keyArn of arns) {
        const servers = moves.filter((m) => m.ebsEncryptionKeyArn === keyArn).length;
        const old: OldKey = { keyArn, servers, targets: [], note: "" };
        found.push(old);
        const where = parseKeyArn(keyArn);
        const account = where?.accountId ?? key.accountId;
        let policy: PolicyDocument | undefined;
        try {
            const kms = await aws.kms(account, where?.region ?? key.region);
            const text = (await kms.send(new GetKeyPolicyCommand({ KeyId: keyArn, PolicyName: "default" })))?.Policy;
            policy = parsePolicyDocument(text);
            if (!policy?.Statement) throw new MalformedAnswer("kms:GetKeyPolicy", "a policy that is not a JSON policy document");
        } catch (err) {
            const unchecked = uncheckedOf(err, account, "kms:GetKeyPolicy");
            if (!unchecked) throw err;
            old.notChecked = unchecked.why;
            old.note = `whether the target can still use its points in time was not checked: ${old.notChecked}.`;
            continue;
        }
        if (targets.length === 0) {
            old.note = "no target account given: whether a target can still use its points in time was not checked.";
            continue;
        }
        const partition = partitionOf(key.region);
        old.targets = targets.map((accountId) => ({
            accountId,
            statement: allowStatements(policy).find(
                (st) =>
                    grantsAction(st, "kms:ReEncryptFrom") &&
                    awsPrincipals(st).some((p) => p === accountRootArn(partition, accountId) || p === accountId),
            )?.Sid,
        }));
        const can = old.targets
            .filter((t) => t.statement !== undefined)
            .map((t) => `${t.accountId} (${t.statement || "a statement without Sid"})`);
        const cannot = old.targets.filter((t) => t.statement === undefined).map((t) => t.accountId);
        old.note = [
            can.length > 0
                ? `its policy lets ${can.join(", ")} use it: points in time taken before the move stay recoverable there while this key is kept and enabled, ` +
                  "if the roles that recover also have an IAM allow for it (the key-use policies name only the stack's keys)."
                : "",
            cannot.length > 0
                ? `its policy does not let ${cannot.join(", ")} use it: points in time taken before the move are not recoverable there.`
                : "",
        ]
            .filter(Boolean)
            .join(" ");
    }
    return found;
}

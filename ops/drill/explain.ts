// Why KMS refused a call the drill's CloudTrail reads found, and the setting or key policy
// statement that would allow it, from the builders the stacks deploy (so the explanation cannot
// drift from what is deployed). Pure: diagnosis.ts reads the trails, this explains their records.
import type { Settings } from "../../config";
import { targetKeyUsePolicyName } from "../../components/defaults";
import {
    PolicyDocument,
    TargetAccess,
    accountRootArn,
    allowStatements,
    awsPrincipals,
    buildKeyPolicy,
    buildTargetKeyUsePolicy,
    drsServiceLinkedRoleArn,
    drsServiceLinkedRoleName,
    drsStagingRoleName,
    grantsAction,
    isIdentityCenterRole,
    parseRoleArn,
    partitionOf,
} from "../../components/policies";
import { isDeniedCode } from "../aws/faults";

export interface Refusal {
    action: string;
    errorCode: string;
    errorMessage?: string;
    principal: string;
    principalAccount?: string;
    roleName?: string;
    /** The service the call came through (invokedBy, sourceIPAddress). */
    through: string;
    /** The account whose CloudTrail recorded it: the caller's, for a refusal across accounts. */
    trailAccount: string;
    count: number;
    firstSeen: string;
    lastSeen: string;
    eventId?: string;
    sharedEventId?: string;
    cause: string;
    fix: string;
    /** The setting or statement that would allow it. */
    allowedBy?: string;
}

/** A CloudTrail record, as far as the diagnosis reads it. */
export interface TrailRecord {
    eventTime?: string;
    eventName?: string;
    errorCode?: string;
    errorMessage?: string;
    sourceIPAddress?: string;
    eventID?: string;
    sharedEventID?: string;
    userIdentity?: {
        type?: string;
        arn?: string;
        accountId?: string;
        principalId?: string;
        invokedBy?: string;
        sessionContext?: { sessionIssuer?: { type?: string; arn?: string; userName?: string; accountId?: string } };
    };
}

export interface DiagnosisContext {
    target: string;
    stagingAccount: string;
    region: string;
    keyArn: string;
    targetAccess: TargetAccess;
    keyUserRoleNames: string[];
    identityCenter: boolean;
    stagingStacks: string[];
    deploy: Settings["deploy"];
    stack: string;
    /** Role unique IDs (AROA...) to names, for records that give only a principalId. */
    knownRoleIds: Map<string, string>;
    /** The key's DRSStagingAccountRole_<target> (the stack's stagingKeys output); empty for a key the stack does not write (a failback origin's). */
    stagingRoleArn: string;
    /** The key's other targets, when it serves several: its policy has a statement set for each. */
    otherTargets?: { targetAccountId: string; stagingRoleArn: string }[];
}

interface Principal {
    label: string;
    arn?: string;
    accountId?: string;
    type?: string;
    roleName?: string;
    /** An AWS service's own session (EC2's infrastructure session, a service principal), in words: never a role of the user's. */
    service?: string;
}

/**
 * An AWS service's own identity: a service principal (type AWSService), or a session of a role
 * AWS owns (its name starts with "aws:", such as EC2's aws:ec2-infrastructure, which attaches
 * encrypted volumes: docs/aws-requirements.md, "Where a refused KMS call is logged").
 */
function serviceSession(r: TrailRecord, arn: string | undefined, roleName: string | undefined): string | undefined {
    const id = r.userIdentity ?? {};
    if (id.type === "AWSService") return `the AWS service ${id.invokedBy ?? "(unnamed)"}`;
    if (!roleName?.startsWith("aws:")) return undefined;
    const session = /:assumed-role\/[^/]+\/(.+)$/.exec(arn ?? "")?.[1];
    const name = roleName === "aws:ec2-infrastructure" ? "EC2's infrastructure session" : "an AWS service's own session";
    return `${name} (${roleName}${session ? `, for ${session}` : ""})`;
}

function principalOf(r: TrailRecord, known: Map<string, string>): Principal {
    const id = r.userIdentity ?? {};
    const issuer = id.sessionContext?.sessionIssuer;
    const arn = id.arn ?? issuer?.arn ?? /User: (arn:\S+) is not authorized/.exec(r.errorMessage ?? "")?.[1];
    const accountId = id.accountId ?? issuer?.accountId ?? arn?.split(":")[4];
    const roleName =
        (issuer?.type === "Role" ? issuer.userName : undefined) ??
        /:assumed-role\/([^/]+)\//.exec(arn ?? "")?.[1] ??
        (arn ? parseRoleArn(arn)?.name : undefined) ??
        known.get((id.principalId ?? "").split(":")[0]);
    const label =
        arn ??
        (roleName
            ? `role ${roleName} of ${accountId}`
            : `${id.type ?? "an identity"} ${id.principalId ?? ""} of ${accountId ?? "an unknown account"}`.trim());
    return { label, arn, accountId, type: id.type, roleName, service: serviceSession(r, arn, roleName) };
}

/** The service a call came through: the service that made it for the caller, or where it came from. */
function throughOf(r: TrailRecord): { through: string; direct: boolean } {
    const by = r.userIdentity?.invokedBy;
    if (by) return { through: by, direct: false };
    const ip = r.sourceIPAddress;
    if (ip && /amazonaws\.com$/.test(ip)) return { through: ip, direct: false };
    if (ip === "AWS Internal") return { through: "an AWS service (AWS Internal)", direct: false };
    return ip ? { through: `directly, from ${ip}`, direct: true } : { through: "unknown", direct: false };
}

/**
 * Groups the records by who, what, how and whose trail recorded them, and explains each. A record
 * without `trailAccount` counts as recorded in its caller's account.
 */
export function explainAll(records: (TrailRecord & { trailAccount?: string })[], ctx: DiagnosisContext): Refusal[] {
    const groups = new Map<string, Refusal>();
    for (const r of records) {
        const principal = principalOf(r, ctx.knownRoleIds);
        const { through } = throughOf(r);
        const action = `kms:${r.eventName ?? "?"}`;
        const trailAccount = r.trailAccount ?? principal.accountId ?? "?";
        const id = [principal.label, action, r.errorCode, through, trailAccount].join("|");
        const time = r.eventTime ?? "";
        const existing = groups.get(id);
        if (existing) {
            existing.count++;
            if (time < existing.firstSeen) existing.firstSeen = time;
            if (time > existing.lastSeen) existing.lastSeen = time;
            continue;
        }
        groups.set(id, {
            action,
            errorCode: r.errorCode ?? "",
            errorMessage: r.errorMessage,
            principal: principal.label,
            principalAccount: principal.accountId,
            roleName: principal.roleName,
            through,
            trailAccount,
            count: 1,
            firstSeen: time,
            lastSeen: time,
            eventId: r.eventID,
            sharedEventId: r.sharedEventID,
            ...explain(r, principal, ctx),
        });
    }
    return [...groups.values()];
}

/** The Sid of the first Allow statement of `doc` that grants `action` (to `principal`, when given). */
function allowing(doc: PolicyDocument, action: string, principal?: string): string | undefined {
    return allowStatements(doc).find((st) => grantsAction(st, action) && (!principal || awsPrincipals(st).includes(principal)))?.Sid;
}

/**
 * What the program's own policies allow for this key, from the builders the stacks deploy (so the
 * diagnosis cannot drift from them): the key policy, and the target's key-use policy, per mode.
 */
function programPolicies(ctx: DiagnosisContext) {
    const partition = partitionOf(ctx.region);
    const keyPolicy = (targetAccess: TargetAccess) =>
        buildKeyPolicy({
            stagingAccountId: ctx.stagingAccount,
            targetAccountId: ctx.target,
            region: ctx.region,
            stagingRoleArn: ctx.stagingRoleArn,
            targetAccess,
            additionalTargets: ctx.otherTargets,
        });
    const keyUse = (targetAccess: TargetAccess) => buildTargetKeyUsePolicy({ keyArns: [ctx.keyArn], targetAccess });
    return {
        targetRoot: accountRootArn(partition, ctx.target),
        serviceLinkedRole: drsServiceLinkedRoleArn(partition, ctx.stagingAccount),
        keyPolicy,
        keyUse,
    };
}

/**
 * An AWS service's own session refused: it acts on the key through a grant for the resource (EC2
 * attaching a volume), never through a role of the user's, so the way to allow it is the grant:
 * the target may create grants for AWS resources only with key.targetAccess ebs-shared-snapshots.
 */
function explainServiceSession(
    action: string,
    p: Principal,
    ctx: DiagnosisContext,
    h: { policies: ReturnType<typeof programPolicies>; other: TargetAccess; switchAccess: string; verifyStaging: string; event: string },
): { cause: string; fix: string; allowedBy?: string } {
    const notARole = `Not a role to add to target.keyUserRoleNames: ${p.service} is AWS's, not yours.`;
    if (p.accountId === ctx.target) {
        const grantsNow = allowing(h.policies.keyPolicy(ctx.targetAccess), "kms:CreateGrant", h.policies.targetRoot);
        const grantsOther = allowing(h.policies.keyPolicy(h.other), "kms:CreateGrant", h.policies.targetRoot);
        if (!grantsNow && grantsOther)
            return {
                cause:
                    `${action} was refused to ${p.service}, which uses the key through a grant for the volume. With key.targetAccess ` +
                    "documented the target may not create grants on the key (kms:CreateGrant for AWS resources), so there is none.",
                fix: `${notARole} Switch to the fallback: ${h.switchAccess}`,
                allowedBy: `key.targetAccess: ebs-shared-snapshots (key policy statement ${grantsOther}: grants for AWS resources)`,
            };
        return {
            cause:
                `${action} was refused to ${p.service}, which uses the key through a grant for the volume: the grant is missing or was revoked` +
                `${grantsNow ? `, although the program lets the target create it (${grantsNow})` : ""}.`,
            fix: `${notARole} ${h.verifyStaging}; \`pulumi up\` the target stack and drill again; if it stays, report it with the event (${h.event}).`,
            ...(grantsNow ? { allowedBy: `key policy statement ${grantsNow} (grants for AWS resources)` } : {}),
        };
    }
    if (p.accountId === ctx.stagingAccount) {
        const sid = allowing(h.policies.keyPolicy(ctx.targetAccess), "kms:CreateGrant", h.policies.serviceLinkedRole);
        return {
            cause:
                `${action} was refused to ${p.service} in the staging account, which uses the key through a grant DRS's service-linked role ` +
                `creates (${sid ?? "?"}): the key policy drifted or the grant was revoked.`,
            fix: `${notARole} ${h.verifyStaging}.`,
            ...(sid ? { allowedBy: `key policy statement ${sid}` } : {}),
        };
    }
    return {
        cause: `${action} was refused to ${p.service}, in account ${p.accountId ?? "?"}, neither the target nor the staging account.`,
        fix: `${notARole} Not the drill's chain: nothing to change unless that account should recover these servers.`,
    };
}

/** Why KMS refused this call, and the setting or statement that would allow it. */
export function explain(r: TrailRecord, p: Principal, ctx: DiagnosisContext): { cause: string; fix: string; allowedBy?: string } {
    const action = `kms:${r.eventName ?? "?"}`;
    const { direct, through } = throughOf(r);
    const ec2 = `ec2.${ctx.region}.amazonaws.com`;
    const verifyStaging = "run verify on the staging stack (its key-policy check), then `pulumi up` it";
    const event = r.sharedEventID ? `sharedEventID ${r.sharedEventID}` : `eventID ${r.eventID ?? "?"}`;
    if (!isDeniedCode(r.errorCode ?? "")) {
        if (/Disabled|KMSInvalidState/.test(r.errorCode ?? ""))
            return {
                cause: `the key could not be used (${r.errorCode}): it is disabled or pending deletion.`,
                fix: `Run verify on the staging stack (its key-state check); enable the key (aws kms enable-key --key-id ${ctx.keyArn} --region ${ctx.region}).`,
            };
        return {
            cause: `KMS answered ${r.errorCode}: ${r.errorMessage ?? "no message"}.`,
            fix: "Not an access refusal: read the event in CloudTrail.",
        };
    }
    if (!ctx.stagingRoleArn)
        return {
            cause: `${action} was refused to ${p.label} on ${ctx.keyArn}, the failback origin template's key: not a key this program writes, so no statement of its policies is to blame.`,
            fix:
                "Its key policy must let the origin account's DRS service-linked role use it, as the staging keys' policies do " +
                "(docs/failback.md): run verify on the target stack, whose failback-origin-key check names what it lacks.",
        };
    const policies = programPolicies(ctx);
    const other: TargetAccess = ctx.targetAccess === "documented" ? "ebs-shared-snapshots" : "documented";
    // The key policy statement for the target (its root) now, and in the other mode; the key-use statement that goes with it.
    const targetNow = allowing(policies.keyPolicy(ctx.targetAccess), action, policies.targetRoot);
    const targetOther = allowing(policies.keyPolicy(other), action, policies.targetRoot);
    const useNow = allowing(policies.keyUse(ctx.targetAccess), action);
    const useOther = allowing(policies.keyUse(other), action);
    const stacks = (ctx.deploy === "all" ? [ctx.stack] : [...ctx.stagingStacks, ctx.stack]).join(", ");
    const switchAccess =
        `set key.targetAccess to ebs-shared-snapshots in every staging stack and the target stack (${stacks}): ` +
        "`pulumi config set --path drs-cross-account-kms:key.targetAccess ebs-shared-snapshots --stack <each>`; " +
        "`pulumi up` the staging stacks, then the target stack, and drill again. Each added action stays limited to EC2 in the key's Region (grants to AWS resources).";
    const needsFallback = !targetNow && targetOther !== undefined && other === "ebs-shared-snapshots";
    if (p.service) return explainServiceSession(action, p, ctx, { policies, other, switchAccess, verifyStaging, event });
    if (p.accountId === ctx.target) {
        const name = p.roleName;
        if (name === drsServiceLinkedRoleName) {
            return {
                cause:
                    `${action} was refused to the target account's DRS service-linked role. IAM cannot give a service-linked role permissions ` +
                    '(docs/aws-requirements.md, "Service-linked roles take no policies"), and no setting of this program allows it.',
                fix:
                    'This is outside what AWS documents and this program models (docs/aws-requirements.md, "Who calls KMS in the target (inferred)"): ' +
                    `report it with the event (${event}).`,
            };
        }
        if (!name) {
            return {
                cause: `${action} was refused to an identity of the target account that this CloudTrail record does not name (${p.label}).`,
                fix:
                    `Look the event up in the target account's CloudTrail (${r.sharedEventID ? `sharedEventID ${r.sharedEventID}` : `around ${r.eventTime}`}) to name it. ` +
                    "A role not in target.keyUserRoleNames: add it there; a role in it refused Decrypt, GenerateDataKey* or CreateGrant: key.targetAccess ebs-shared-snapshots.",
            };
        }
        const sso = isIdentityCenterRole(name);
        const listed = ctx.keyUserRoleNames.some((n) => n.toLowerCase() === name.toLowerCase());
        if (sso && !ctx.identityCenter) {
            return {
                cause: `${action} was refused to ${name}, a role of an IAM Identity Center permission set, and the stack sets no identityCenter: no key-use policy reaches it.`,
                fix: `Set identityCenter (instanceArn, and permissionSetArns with that permission set) in the target stack (${ctx.stack}) and \`pulumi up\` it; sign in again and drill.`,
                allowedBy: "identityCenter.permissionSetArns (the permission set references the key-use policies)",
            };
        }
        if (!listed && !sso) {
            const then = needsFallback ? ` If it is then still refused ${action}, ${switchAccess}` : "";
            return {
                cause:
                    `${action} was refused to the target role ${name}, which is not in target.keyUserRoleNames: it holds no key-use policy, and ` +
                    'cross-account use of the key needs one in the target as well as the key policy (docs/aws-requirements.md, "Who calls KMS in the target (inferred)").',
                fix:
                    `Add ${name} to drs-cross-account-kms:target.keyUserRoleNames in the target stack (${ctx.stack}) and \`pulumi up\` it, then drill as it (--role ${name}); ` +
                    `or drill as a role already there${ctx.keyUserRoleNames[0] ? ` (--role ${ctx.keyUserRoleNames[0]})` : ""}, or use identityCenter for people who sign in through IAM Identity Center.${then}`,
                allowedBy: `target.keyUserRoleNames (the key-use policy ${targetKeyUsePolicyName}, statement ${useNow ?? useOther ?? "?"})`,
            };
        }
        const who = sso
            ? `${name} (an IAM Identity Center role; if its permission set is not in identityCenter.permissionSetArns, add it first)`
            : `${name} (in target.keyUserRoleNames)`;
        if (direct) {
            return {
                cause: `${action} was called directly (${through}), not through ${ec2}: the program lets the target use the key only through EC2 in the key's Region (kms:ViaService).`,
                fix: "Nothing to change for the drill: DRS uses the key through EC2. A direct call (a script, the CLI) is refused by design.",
            };
        }
        if (needsFallback) {
            return {
                cause:
                    `${action} was refused to ${who}: with key.targetAccess documented the key policy gives the target only what the DRS ` +
                    "multi-account page documents (ReEncrypt* through EC2, and DescribeKey), and this recovery needed more.",
                fix: `Switch to the fallback: ${switchAccess}`,
                allowedBy: `key.targetAccess: ebs-shared-snapshots (key policy statement ${targetOther}, and the key-use policy's ${useOther ?? "?"})`,
            };
        }
        if (!targetNow) {
            return {
                cause: `${action} was refused to ${who}: the program grants the target no such action in either key.targetAccess mode.`,
                fix: `Outside what AWS documents for DRS and EBS: report it with the event (${event}).`,
            };
        }
        return {
            cause:
                `${action} was refused to ${who}, although the program's key policy (${targetNow}) and key-use policy (${useNow ?? "?"}) allow it: ` +
                "one of them drifted or is not attached to the role, or something else denies it (a service control policy, a permissions boundary, a session policy).",
            fix: `${verifyStaging}; \`pulumi up\` the target stack (it attaches the key-use policies); check the role's other policies, boundary and your SCPs.`,
            allowedBy: `key policy statement ${targetNow} and the key-use policy's ${useNow ?? "?"}`,
        };
    }
    if (p.accountId === ctx.stagingAccount) {
        const name = p.roleName;
        const staged =
            name === drsServiceLinkedRoleName
                ? { who: "the staging account's DRS service-linked role", principal: policies.serviceLinkedRole }
                : name === drsStagingRoleName(ctx.target)
                  ? { who: name, principal: ctx.stagingRoleArn }
                  : undefined;
        if (!staged) {
            return {
                cause: `${action} was refused to ${p.label}, an identity of the staging account that is not part of DRS's chain.`,
                fix: "Not the drill's chain: if it should use the key, give it KMS permissions with IAM in the staging account (the key policy lets the account's IAM policies grant use).",
            };
        }
        const sid = allowing(policies.keyPolicy(ctx.targetAccess), action, staged.principal);
        if (!sid) {
            return {
                cause: `${action} was refused to ${staged.who}: the program's key policy grants it no such action (it follows what AWS documents).`,
                fix: `Outside what AWS documents: ${verifyStaging} to rule out drift, and report it with the event (${event}).`,
            };
        }
        const replaced = name === drsServiceLinkedRoleName ? "" : ", or the role was replaced (KMS stored the old one)";
        return {
            cause: `${action} was refused to ${staged.who}, which the program's key policy allows (${sid}): the key policy drifted${replaced}.`,
            fix: `The key policy drifted: ${verifyStaging}${replaced ? " (it re-applies the policy for a replaced role)" : ""}.`,
            allowedBy: `key policy statement ${sid}`,
        };
    }
    return {
        cause: `${action} was refused to ${p.label}, of account ${p.accountId ?? "?"}, neither the target nor the staging account: the key policy allows neither.`,
        fix: "Not the drill's chain: nothing to change unless that account should recover these servers (then it is the target of another stack).",
    };
}

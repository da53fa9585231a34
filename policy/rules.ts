// The guardrails of the policy pack, as pure checks on a resource's type and properties, so they
// are tested without the Pulumi CLI and hold for any program that uses these components.
import { PolicyDocument, PolicyStatement, isServiceLinkedRole } from "../components/policies";

export interface ResourceUnderPolicy {
    type: string;
    props: Record<string, unknown>;
    /** The properties of the resource's provider, when known (allowedAccountIds names the account). */
    providerProps?: Record<string, unknown>;
}

export interface Rule {
    name: string;
    description: string;
    /** The violations, as messages; none when the resource complies. */
    check(resource: ResourceUnderPolicy): string[];
}

/** Actions that administer a key rather than use it. */
const adminActions = [
    "kms:*",
    "kms:PutKeyPolicy",
    "kms:ScheduleKeyDeletion",
    "kms:CancelKeyDeletion",
    "kms:DisableKey",
    "kms:EnableKey",
    "kms:DisableKeyRotation",
    "kms:EnableKeyRotation",
    "kms:UpdateKeyDescription",
    "kms:UpdateAlias",
    "kms:CreateAlias",
    "kms:DeleteAlias",
    "kms:TagResource",
    "kms:UntagResource",
    "kms:RevokeGrant",
    "kms:RetireGrant",
    "kms:ImportKeyMaterial",
    "kms:DeleteImportedKeyMaterial",
    "kms:ReplicateKey",
    "kms:UpdatePrimaryRegion",
    "kms:RotateKeyOnDemand",
];

/** KMS actions that only exist on "*" (no key to name). */
const accountLevelKmsActions = ["kms:CreateKey", "kms:ListKeys", "kms:ListAliases", "kms:GenerateRandom", "kms:ListRetirableGrants"];

const list = (value: string | string[] | undefined): string[] => (value === undefined ? [] : [value].flat());

/** Whether a statement's actions include `action`, wildcards in the statement considered. */
function grants(statement: PolicyStatement, action: string): boolean {
    return list(statement.Action).some((a) =>
        new RegExp(`^${a.replace(/[.+?^${}()|[\]\\]/g, "\\$&").replace(/\*/g, ".*")}$`, "i").test(action),
    );
}

function allowStatements(doc: PolicyDocument | undefined): PolicyStatement[] {
    return (doc?.Statement ?? []).filter((s) => s.Effect === "Allow");
}

function parsePolicy(value: unknown): PolicyDocument | undefined {
    if (typeof value === "string") {
        try {
            return JSON.parse(value) as PolicyDocument;
        } catch {
            return undefined;
        }
    }
    return value && typeof value === "object" ? (value as PolicyDocument) : undefined;
}

function awsPrincipals(statement: PolicyStatement): string[] {
    const principal = statement.Principal as unknown;
    if (principal === "*") return ["*"];
    return principal && typeof principal === "object" && "AWS" in principal ? list((principal as { AWS: string | string[] }).AWS) : [];
}

function accountOf(principal: string): string | undefined {
    if (/^\d{12}$/.test(principal)) return principal;
    return /^arn:[\w-]+:(iam|sts)::(\d{12}):/.exec(principal)?.[2];
}

function hasServicePrincipal(statement: PolicyStatement): boolean {
    const principal = statement.Principal as unknown;
    return typeof principal === "object" && principal !== null && "Service" in principal;
}

function conditionKeys(statement: PolicyStatement): string[] {
    return Object.values(statement.Condition ?? {}).flatMap((block) => Object.keys(block).map((k) => k.toLowerCase()));
}

/** The key's account: its provider's only allowed account, else the one account that administers it. */
function keyAccount(doc: PolicyDocument, providerProps?: Record<string, unknown>): string | undefined {
    const allowed = providerProps?.allowedAccountIds;
    const ids = typeof allowed === "string" ? (parsePolicy(allowed) as unknown as string[] | undefined) : (allowed as string[] | undefined);
    if (Array.isArray(ids) && ids.length === 1) return ids[0];
    const admins = new Set(
        allowStatements(doc)
            .filter((s) => grants(s, "kms:PutKeyPolicy"))
            .flatMap(awsPrincipals)
            .map(accountOf),
    );
    return admins.size === 1 ? [...admins][0] : undefined;
}

/** Resource policies where a principal is named: key policies, topic policies, role trust policies. */
function resourcePolicies(r: ResourceUnderPolicy): PolicyDocument[] {
    switch (r.type) {
        case "aws:kms/key:Key":
        case "aws:kms/keyPolicy:KeyPolicy":
        case "aws:sns/topicPolicy:TopicPolicy":
        case "aws:sns/topic:Topic":
            return [parsePolicy(r.props.policy)].filter((d): d is PolicyDocument => d !== undefined);
        case "aws:iam/role:Role":
            return [parsePolicy(r.props.assumeRolePolicy)].filter((d): d is PolicyDocument => d !== undefined);
        default:
            return [];
    }
}

const isKeyPolicy = (r: ResourceUnderPolicy) => r.type === "aws:kms/key:Key" || r.type === "aws:kms/keyPolicy:KeyPolicy";

export const rules: Rule[] = [
    {
        name: "kms-key-rotation-and-deletion-window",
        description: "KMS keys rotate automatically and keep a deletion window of at least 7 days (30 when unset).",
        check: (r) => {
            if (r.type !== "aws:kms/key:Key") return [];
            const symmetric = (r.props.customerMasterKeySpec ?? "SYMMETRIC_DEFAULT") === "SYMMETRIC_DEFAULT";
            const problems: string[] = [];
            if (symmetric && r.props.enableKeyRotation !== true)
                problems.push("Automatic key rotation must be on (enableKeyRotation: true).");
            const window = r.props.deletionWindowInDays;
            if (typeof window === "number" && window < 7) problems.push(`The deletion window is ${window} days; it must be at least 7.`);
            return problems;
        },
    },
    {
        name: "kms-key-admin-only-in-own-account",
        description: "No key policy grants kms:* or administrative actions to a principal outside the key's account.",
        check: (r) => {
            const doc = isKeyPolicy(r) ? parsePolicy(r.props.policy) : undefined;
            if (!doc) return [];
            const owner = keyAccount(doc, r.providerProps);
            return allowStatements(doc).flatMap((s) => {
                // The statement's own actions that reach an administrative one, as written.
                const admin = list(s.Action).filter((written) => adminActions.some((a) => grants({ ...s, Action: written }, a)));
                if (admin.length === 0) return [];
                const service = hasServicePrincipal(s);
                const outside = awsPrincipals(s).filter(
                    (p) => p === "*" || accountOf(p) === undefined || (owner !== undefined && accountOf(p) !== owner),
                );
                if (!service && outside.length === 0 && owner !== undefined) return [];
                const who = service
                    ? "a service principal"
                    : outside.length > 0
                      ? outside.join(", ")
                      : "principals of more than one account";
                return [
                    `Statement ${s.Sid ?? "(no Sid)"} grants ${admin.join(", ")} to ${who}, outside the key's account ${owner ?? "(unknown)"}.`,
                ];
            });
        },
    },
    {
        name: "kms-cross-account-statements-conditioned",
        description:
            "Every key policy statement for another account has kms:CallerAccount, and kms:ViaService or kms:GrantIsForAWSResource (kms:DescribeKey alone needs only kms:CallerAccount).",
        check: (r) => {
            const doc = isKeyPolicy(r) ? parsePolicy(r.props.policy) : undefined;
            if (!doc) return [];
            const owner = keyAccount(doc, r.providerProps);
            return allowStatements(doc).flatMap((s) => {
                const foreign = awsPrincipals(s).some((p) => p === "*" || accountOf(p) !== owner);
                if (!foreign) return [];
                const keys = conditionKeys(s);
                const describeOnly = list(s.Action).every((a) => a.toLowerCase() === "kms:describekey");
                const missing = [
                    ...(keys.includes("kms:calleraccount") ? [] : ["kms:CallerAccount"]),
                    ...(describeOnly || keys.includes("kms:viaservice") || keys.includes("kms:grantisforawsresource")
                        ? []
                        : ["kms:ViaService or kms:GrantIsForAWSResource"]),
                ];
                return missing.length === 0 ? [] : [`Cross-account statement ${s.Sid ?? "(no Sid)"} lacks ${missing.join(" and ")}.`];
            });
        },
    },
    {
        name: "no-wildcard-principal",
        description: "No key, topic or trust policy allows Principal *.",
        check: (r) =>
            resourcePolicies(r).flatMap((doc) =>
                allowStatements(doc)
                    .filter((s) => awsPrincipals(s).includes("*"))
                    .map((s) => `Statement ${s.Sid ?? "(no Sid)"} allows Principal "*".`),
            ),
    },
    {
        name: "service-principal-confused-deputy",
        description: "A statement for a service principal is limited with aws:SourceAccount or aws:SourceArn.",
        check: (r) =>
            resourcePolicies(r).flatMap((doc) =>
                allowStatements(doc)
                    .filter(hasServicePrincipal)
                    .filter((s) => !conditionKeys(s).some((k) => k === "aws:sourceaccount" || k === "aws:sourcearn"))
                    .map((s) => `Statement ${s.Sid ?? "(no Sid)"} allows a service principal without aws:SourceAccount or aws:SourceArn.`),
            ),
    },
    {
        name: "iam-kms-exact-keys",
        description: "IAM policies name exact key ARNs for KMS actions, never key/* or *.",
        check: (r) => {
            const identityTypes = [
                "aws:iam/policy:Policy",
                "aws:iam/rolePolicy:RolePolicy",
                "aws:iam/userPolicy:UserPolicy",
                "aws:iam/groupPolicy:GroupPolicy",
            ];
            if (!identityTypes.includes(r.type)) return [];
            return allowStatements(parsePolicy(r.props.policy)).flatMap((s) => {
                const keyActions = list(s.Action).filter((a) => /^(kms:|\*$)/i.test(a) && !accountLevelKmsActions.includes(a));
                const wide = list(s.Resource).filter((res) => res === "*" || /^arn:[\w-]+:kms:[^:]*:[^:]*:key\/.*\*/.test(res));
                return keyActions.length > 0 && wide.length > 0
                    ? [`Statement ${s.Sid ?? "(no Sid)"} allows ${keyActions.join(", ")} on ${wide.join(", ")}: name the exact key ARNs.`]
                    : [];
            });
        },
    },
    {
        name: "no-policy-on-service-linked-role",
        description: "Nothing attaches a policy to a service-linked role (IAM rejects it: UnmodifiableEntity).",
        check: (r) => {
            const roles =
                r.type === "aws:iam/rolePolicyAttachment:RolePolicyAttachment" || r.type === "aws:iam/rolePolicy:RolePolicy"
                    ? list(r.props.role as string | undefined)
                    : r.type === "aws:iam/policyAttachment:PolicyAttachment"
                      ? list(r.props.roles as string[] | undefined)
                      : [];
            return roles.filter(isServiceLinkedRole).map((role) => `${role} is a service-linked role; no policy can be attached to it.`);
        },
    },
];

/** Every violation of every rule for one resource, as "rule: message". */
export function violations(resource: ResourceUnderPolicy): string[] {
    return rules.flatMap((rule) => rule.check(resource).map((message) => `${rule.name}: ${message}`));
}

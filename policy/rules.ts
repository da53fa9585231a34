// The guardrails of the policy pack, as pure checks on a resource's type and properties, so they
// are tested without the Pulumi CLI and hold for any program that uses these components.
import {
    PolicyDocument,
    PolicyStatement,
    accountLevelKmsActions,
    accountOf,
    allowStatements,
    awsPrincipals,
    grantsAction as grants,
    isIdentityCenterRole,
    isServiceLinkedRole,
    kmsAdminActions as adminActions,
    kmsKeyTypes,
    listOf as list,
    parseKeyArn,
    parsePolicyDocument as parsePolicy,
    providerAccountId,
} from "drs-cross-account-kms/policies";

export interface ResourceUnderPolicy {
    type: string;
    props: Record<string, unknown>;
    /** The properties of the resource's provider, when known (allowedAccountIds names the account). */
    providerProps?: Record<string, unknown>;
}

/**
 * mandatory: a violation stops `pulumi up`; advisory: it is reported. Rules that protect data and
 * access are mandatory; advisory where a reasonable organisation may decide otherwise. Each can be
 * changed with Pulumi's policy config (policy/README.md).
 */
export type EnforcementLevel = "mandatory" | "advisory";

export interface Rule {
    name: string;
    description: string;
    enforcementLevel: EnforcementLevel;
    /** The violations, as messages; none when the resource complies. */
    check(resource: ResourceUnderPolicy): string[];
}

/**
 * A condition that pins who may call, which makes Principal "*" mean "my organisation" or "these
 * principals" rather than anyone: an org ID or path, an account, a principal ARN, the KMS caller's
 * account, under a positive operator (not StringNot..., ArnNot..., Null).
 */
function bindsTheCaller(statement: PolicyStatement): boolean {
    const binding = ["aws:principalorgid", "aws:principalorgpaths", "aws:principalaccount", "aws:principalarn", "kms:calleraccount"];
    return Object.entries(statement.Condition ?? {}).some(
        ([operator, block]) => !/(Not|^Null)/.test(operator) && Object.keys(block).some((key) => binding.includes(key.toLowerCase())),
    );
}

function hasServicePrincipal(statement: PolicyStatement): boolean {
    const principal = statement.Principal as unknown;
    return typeof principal === "object" && principal !== null && "Service" in principal;
}

function conditionKeys(statement: PolicyStatement): string[] {
    return Object.values(statement.Condition ?? {}).flatMap((block) => Object.keys(block).map((k) => k.toLowerCase()));
}

/**
 * The key's account: its provider's only allowed account, else a replica's primary's (a replica is
 * always in its primary's account), else the one account that administers it.
 */
function keyAccount(r: ResourceUnderPolicy, doc: PolicyDocument): string | undefined {
    const pinned = providerAccountId(r.providerProps?.allowedAccountIds);
    if (pinned) return pinned;
    const primary = r.type === replicaKeyType && typeof r.props.primaryKeyArn === "string" ? parseKeyArn(r.props.primaryKeyArn) : undefined;
    if (primary) return primary.accountId;
    const admins = new Set(
        allowStatements(doc)
            .filter((s) => grants(s, "kms:PutKeyPolicy"))
            .flatMap(awsPrincipals)
            .map(accountOf),
    );
    return admins.size === 1 ? [...admins][0] : undefined;
}

const [keyType, replicaKeyType] = kmsKeyTypes;
/** Every resource that carries a key policy in `policy`. */
const keyPolicyTypes = [keyType, replicaKeyType, "aws:kms/keyPolicy:KeyPolicy"];

/** Resource policies where a principal is named: key policies, topic policies, role trust policies. */
function resourcePolicies(r: ResourceUnderPolicy): PolicyDocument[] {
    switch (r.type) {
        case keyType:
        case replicaKeyType:
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

const isKeyPolicy = (r: ResourceUnderPolicy) => keyPolicyTypes.includes(r.type);

export const rules: Rule[] = [
    {
        name: "kms-key-rotation",
        description: "Symmetric KMS keys rotate automatically (a multi-Region replica shares its primary's rotation).",
        enforcementLevel: "advisory",
        check: (r) => {
            // A replica has no rotation of its own, nor an enableKeyRotation input: it shares the primary's
            // (docs/aws-requirements.md, Multi-Region keys and adopting keys).
            const symmetric = (r.props.customerMasterKeySpec ?? "SYMMETRIC_DEFAULT") === "SYMMETRIC_DEFAULT";
            return r.type === keyType && symmetric && r.props.enableKeyRotation !== true
                ? ["Automatic key rotation must be on (enableKeyRotation: true)."]
                : [];
        },
    },
    {
        name: "kms-key-deletion-window",
        description:
            "KMS keys, replicas too, keep a deletion window of 7 to 30 days (30 when unset): the time to notice a mistake before the data is lost.",
        enforcementLevel: "mandatory",
        check: (r) => {
            if (r.type !== keyType && r.type !== replicaKeyType) return [];
            const window = r.props.deletionWindowInDays;
            return typeof window === "number" && (window < 7 || window > 30)
                ? [`The deletion window is ${window} days; it must be 7 to 30.`]
                : [];
        },
    },
    {
        name: "kms-key-admin-only-in-own-account",
        enforcementLevel: "mandatory",
        description: "No key policy grants kms:* or administrative actions to a principal outside the key's account.",
        check: (r) => {
            const doc = isKeyPolicy(r) ? parsePolicy(r.props.policy) : undefined;
            if (!doc) return [];
            const owner = keyAccount(r, doc);
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
        enforcementLevel: "mandatory",
        description:
            "Every key policy statement for another account has kms:CallerAccount, and kms:ViaService or kms:GrantIsForAWSResource (kms:DescribeKey alone needs only kms:CallerAccount).",
        check: (r) => {
            const doc = isKeyPolicy(r) ? parsePolicy(r.props.policy) : undefined;
            if (!doc) return [];
            const owner = keyAccount(r, doc);
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
        description:
            "No key, topic or trust policy allows Principal * unless a condition binds the caller (aws:PrincipalOrgID, aws:PrincipalAccount, aws:PrincipalArn, kms:CallerAccount).",
        enforcementLevel: "mandatory",
        check: (r) =>
            resourcePolicies(r).flatMap((doc) =>
                allowStatements(doc)
                    .filter((s) => awsPrincipals(s).includes("*") && !bindsTheCaller(s))
                    .map(
                        (s) =>
                            `Statement ${s.Sid ?? "(no Sid)"} allows Principal "*" to anyone: bind it with aws:PrincipalOrgID or name the principals.`,
                    ),
            ),
    },
    {
        name: "service-principal-confused-deputy",
        enforcementLevel: "mandatory",
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
        enforcementLevel: "mandatory",
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
        // IAM refuses it at `pulumi up` anyway: stopping the preview says why, sooner.
        enforcementLevel: "mandatory",
        description:
            "Nothing attaches a policy to a service-linked role (IAM rejects it: UnmodifiableEntity) or to an IAM Identity Center role (AWSReservedSSO_..., managed through its permission set).",
        check: (r) => {
            const roles =
                r.type === "aws:iam/rolePolicyAttachment:RolePolicyAttachment" || r.type === "aws:iam/rolePolicy:RolePolicy"
                    ? list(r.props.role as string | undefined)
                    : r.type === "aws:iam/policyAttachment:PolicyAttachment"
                      ? list(r.props.roles as string[] | undefined)
                      : [];
            // docs/aws-requirements.md, "Service-linked roles take no policies" and "IAM Identity Center".
            return roles.flatMap((role) =>
                isServiceLinkedRole(role)
                    ? [`${role} is a service-linked role; no policy can be attached to it.`]
                    : isIdentityCenterRole(role)
                      ? [
                            `${role} is an IAM Identity Center role, which only Identity Center may change: give its permission set the policy (identityCenter.permissionSetArns).`,
                        ]
                      : [],
            );
        },
    },
];

/** Every violation of every rule for one resource, as "rule: message". */
export function violations(resource: ResourceUnderPolicy): string[] {
    return rules.flatMap((rule) => rule.check(resource).map((message) => `${rule.name}: ${message}`));
}

/** The rules as CrossGuard resource policies, each with its default enforcement level. */
export function packPolicies() {
    return rules.map((rule) => ({
        name: rule.name,
        description: rule.description,
        enforcementLevel: rule.enforcementLevel,
        validateResource: (
            args: { type: string; props: Record<string, unknown>; provider?: { props: Record<string, unknown> } },
            reportViolation: (message: string) => void,
        ) => {
            for (const message of rule.check({ type: args.type, props: args.props, providerProps: args.provider?.props }))
                reportViolation(message);
        },
    }));
}

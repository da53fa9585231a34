// The identity the drill runs as: a key-user role, or the current credentials, and whether it
// holds the key-use policies; without them KMS refuses it the staging keys, and the drill would
// fail for the wrong reason. Its sessions, by Region, are what the job phase calls DRS with.
import { GetRoleCommand, IAMClient } from "@aws-sdk/client-iam";
import { GetCallerIdentityCommand } from "@aws-sdk/client-sts";
import { targetKeyUsePolicyName } from "../../components/defaults";
import { partitionOf } from "../../components/policies";
import { IdentitySession } from "../aws/access";
import { failure } from "../aws/faults";
import { attachedRolePolicies } from "../aws/iamReads";
import { DrillContext } from "./context";
import { IdentityReport } from "./types";

const keyUsePattern = new RegExp(`^${targetKeyUsePolicyName}(-\\d+)?$`);

/** The drill identity's session in a Region, opened once: as the resolved role, or the current credentials. */
export function identitySession(ctx: DrillContext, region: string): Promise<IdentitySession> {
    if (!ctx.sessions.has(region)) ctx.sessions.set(region, ctx.access.identity(ctx.identityRoleArn, region));
    return ctx.sessions.get(region)!;
}

/**
 * Which identity starts the drill: a key-user role assumed with the current credentials (--role, or
 * the first of target.keyUserRoleNames), or the current credentials themselves (--current-credentials,
 * or no keyUserRoleNames: Identity Center permission sets). With `check`, whether it holds the
 * key-use policies; without them KMS refuses it, and the drill would fail for the wrong reason.
 */
export async function resolveIdentity(ctx: DrillContext, region: string, check: boolean): Promise<IdentityReport> {
    const { keyUserRoleNames } = ctx.input.settings.target;
    const roleName = ctx.options.currentCredentials ? undefined : (ctx.options.role ?? keyUserRoleNames[0]);
    const report: IdentityReport = {
        how: roleName ? "role" : "current credentials",
        why: "",
        keyUsePolicies: [],
        missingPolicies: [],
    };
    if (roleName) {
        report.roleName = roleName;
        const listed = keyUserRoleNames.some((n) => n.toLowerCase() === roleName.toLowerCase());
        report.why = ctx.options.role
            ? `--role ${roleName}${listed ? "" : " (not in target.keyUserRoleNames)"}`
            : `the first of target.keyUserRoleNames${keyUserRoleNames.length > 1 ? ` (${keyUserRoleNames.join(", ")}; --role names another)` : ""}`;
        await readRole(ctx, report, check);
        if (report.error) return report;
        report.roleArn ??= `arn:${partitionOf(region)}:iam::${ctx.target}:role/${roleName}`;
        ctx.identityRoleArn = report.roleArn;
        try {
            await identitySession(ctx, region);
        } catch (err) {
            report.error =
                `cannot assume ${report.roleArn} with your credentials (${failure(err)}): its trust policy must allow them, ` +
                "and they need sts:AssumeRole on it.";
            return report;
        }
    } else {
        report.why = ctx.options.currentCredentials
            ? "--current-credentials"
            : "target.keyUserRoleNames is empty (the stack gives the key-use policies to IAM Identity Center permission sets, if any): " +
              "the drill runs with your current credentials. Sign in with a permission set that references the key-use policies, " +
              "in the target account (aws sso login; AWS_PROFILE of that permission set there).";
    }
    let caller: { Arn?: string; Account?: string };
    try {
        caller = await (await identitySession(ctx, region)).sts.send(new GetCallerIdentityCommand({}));
    } catch (err) {
        report.error = `cannot tell who the drill's credentials are (sts:GetCallerIdentity: ${failure(err)}).`;
        return report;
    }
    report.callerArn = caller.Arn;
    if (caller.Account && caller.Account !== ctx.target) {
        report.error = `the drill's credentials are for account ${caller.Account}, not the target ${ctx.target}: recovery starts in the target account.`;
        return report;
    }
    if (!roleName) {
        const assumed = /:assumed-role\/([^/]+)\//.exec(caller.Arn ?? "")?.[1];
        if (assumed) {
            report.roleName = assumed;
            await readRole(ctx, report, check);
        } else {
            report.checkError = `${caller.Arn ?? "the current identity"} is not a role session: only roles are checked.`;
        }
    }
    if (!check) return report;
    const who = report.roleName ? `role ${report.roleName}` : (report.callerArn ?? "the current identity");
    if (report.holdsKeyUse === false && report.keyUsePolicies.length === 0) {
        report.refusal =
            `${who} holds no key-use policy (${targetKeyUsePolicyName} or ${targetKeyUsePolicyName}-<n>): KMS would refuse it the staging keys, ` +
            `and the drill would fail for that reason. Run as a role in target.keyUserRoleNames (--role), add this role there and ` +
            "`pulumi up` the target stack, or insist with --any-identity.";
    } else if (report.holdsKeyUse === false) {
        report.refusal =
            `${who} holds ${report.keyUsePolicies.join(", ")} but not ${report.missingPolicies.join(", ")}: the keys in ${report.missingPolicies.length === 1 ? "that policy" : "those policies"} would be refused. ` +
            "`pulumi up` the target stack (it attaches every key-use policy to each role in keyUserRoleNames), or insist with --any-identity.";
    } else if (report.holdsKeyUse === undefined) {
        report.refusal = `could not check that ${who} holds a key-use policy (${report.checkError}). Grant iam:GetRole and iam:ListAttachedRolePolicies in the target, or insist with --any-identity.`;
    }
    if (report.refusal && ctx.options.anyIdentity) report.overridden = true;
    return report;
}

/** GetRole (its ARN: roles may have paths) and, with `check`, its attached key-use policies. */
async function readRole(ctx: DrillContext, report: IdentityReport, check: boolean): Promise<void> {
    const roleName = report.roleName!;
    let iam: IAMClient;
    try {
        iam = await ctx.access.iam(ctx.target, ctx.regions[0]);
        const { Role } = await iam.send(new GetRoleCommand({ RoleName: roleName }));
        report.roleArn = Role?.Arn;
        report.roleId = Role?.RoleId;
        if (Role?.RoleId) ctx.knownRoleIds.set(Role.RoleId, roleName);
    } catch (err) {
        if (/NoSuchEntity/.test((err as Error).name ?? "")) {
            report.error = `role ${roleName} does not exist in the target account ${ctx.target}.`;
            report.holdsKeyUse = false;
            return;
        }
        report.checkError = `iam:GetRole ${roleName}: ${failure(err)}`;
        return;
    }
    if (!check) return;
    try {
        const names = (await attachedRolePolicies(iam, roleName)).map((p) => p.PolicyName ?? "");
        report.keyUsePolicies = names.filter((n) => keyUsePattern.test(n));
        report.missingPolicies = expectedPolicies(ctx).filter((n) => !report.keyUsePolicies.includes(n));
        report.holdsKeyUse = report.keyUsePolicies.length > 0 && report.missingPolicies.length === 0;
    } catch (err) {
        report.checkError = `iam:ListAttachedRolePolicies ${roleName}: ${failure(err)}`;
    }
}

/** The key-use policies the stack created (its targetKeyUsePolicyArns output), by name. */
function expectedPolicies(ctx: DrillContext): string[] {
    const arns = ctx.input.outputs.targetKeyUsePolicyArns;
    if (!Array.isArray(arns)) return [];
    return arns.filter((a): a is string => typeof a === "string").map((a) => a.split("/").pop() ?? a);
}

// verify's coverage (every replicating staging server extended into the target) and the roles DRS
// requires in other accounts, against the mocked accounts of tests/support/verifyWorld.ts.
import { DescribeSourceServersCommand } from "@aws-sdk/client-drs";
import { GetRoleCommand } from "@aws-sdk/client-iam";
import { expect } from "chai";
import { parseConfig } from "../../config";
import { verify } from "../../ops/verify";
import {
    awsError,
    byCheck,
    healthyAws,
    outputs,
    region,
    settings,
    sourceAccount,
    sourceServer,
    staging,
    stagingServerArn,
    target,
} from "../support/verifyWorld";

/** Staging server IDs as DRS makes them (s- and 17 characters): target.unprotectedServers takes no other. */
const web = "s-0123456789abcd001";
const db = "s-0123456789abcd002";
const files = "s-0123456789abcd003";

/**
 * The staging account replicates web-1, db-1 and files-1; the target's second page of extended
 * servers holds web-1's and db-1's extensions: files-1 is not extended.
 */
function thirdNotExtended(extra: Parameters<typeof sourceServer>[1] = {}) {
    const world = healthyAws();
    world.mocks.stagingDrs.on(DescribeSourceServersCommand).resolves({
        items: [
            sourceServer(web, { hostname: "web-1", arn: stagingServerArn(staging, region, web) }),
            sourceServer(db, { hostname: "db-1", arn: stagingServerArn(staging, region, db) }),
            sourceServer(files, { hostname: "files-1", arn: stagingServerArn(staging, region, files), ...extra }),
        ],
    });
    world.mocks.targetDrs.on(DescribeSourceServersCommand, { filters: { stagingAccountIDs: [staging] }, nextToken: "page-2" }).resolves({
        items: [web, db].map((id, i) =>
            sourceServer(`s-ffffffffffffff00${i}`, {
                stagingArea: "EXTENDED",
                stagingSourceServerArn: stagingServerArn(staging, region, id),
            }),
        ),
    });
    return world;
}

const settingsWith = (targetExtra: Record<string, unknown>, entryExtra: Record<string, unknown> = {}) =>
    parseConfig({
        target: { accountId: target, ...targetExtra },
        stagingAccounts: [{ accountId: staging, region, ...entryExtra }],
    }).settings;

describe("verify: every replicating server extended into the target", () => {
    it("passes when every server replicating in the staging account is extended into the target", async () => {
        const { access } = healthyAws();
        const coverage = byCheck(await verify({ settings, outputs }, access))["extension-coverage"];
        expect(coverage).to.include({
            status: "PASS",
            scope: `${staging}/${region}`,
            message: `2 of 2 servers replicating in ${staging} in ${region} are extended into ${target}.`,
        });
    });

    it("fails on a replicating server that is not extended: the target cannot recover it, and the fix is extend", async () => {
        const { access } = thirdNotExtended();
        const coverage = byCheck(await verify({ settings, outputs, stack: "target" }, access))["extension-coverage"];
        expect(coverage.status).to.equal("FAIL");
        expect(coverage.message).to.equal(
            `1 of 3 servers replicating in ${staging} in ${region} is not protected in ${target}: 1 not extended (${files} (files-1)). ${target} cannot recover it.`,
        );
        expect(coverage.fix).to.include("`npm run -s extend -- -s target` lists them, and with --apply extends them");
        expect(coverage.details).to.deep.equal([
            {
                sourceServerID: files,
                hostname: "files-1",
                extendedServerID: undefined,
                stagingAreaStatus: undefined,
                errorMessage: undefined,
                reason: undefined,
            },
        ]);
    });

    it("leaves out servers that no longer replicate (stopped, disconnected)", async () => {
        const { access } = thirdNotExtended({ state: "DISCONNECTED" });
        expect(byCheck(await verify({ settings, outputs }, access))["extension-coverage"].status).to.equal("PASS");
    });

    it("reports a server left out on purpose as INFO, with its reason (target.unprotectedServers)", async () => {
        const { access } = thirdNotExtended();
        const deliberate = settingsWith({ unprotectedServers: [{ sourceServerId: files, reason: "a build server, rebuilt from code" }] });
        const coverage = byCheck(await verify({ settings: deliberate, outputs }, access))["extension-coverage"];
        expect(coverage.status).to.equal("INFO");
        expect(coverage.message).to.equal(
            `2 of 3 servers replicating in ${staging} in ${region} are extended into ${target}. ` +
                `1 server is left out on purpose (target.unprotectedServers): ${files} (files-1): a build server, rebuilt from code.`,
        );
    });

    it("warns about an entry of target.unprotectedServers that is extended after all", async () => {
        const { access } = thirdNotExtended();
        const stale = settingsWith({
            unprotectedServers: [
                { sourceServerId: files, reason: "a build server" },
                { sourceServerId: db, reason: "was to be retired" },
            ],
        });
        const coverage = byCheck(await verify({ settings: stale, outputs }, access))["extension-coverage"];
        expect(coverage.status).to.equal("INFO");
        expect(coverage.message).to.include(`target.unprotectedServers names ${db}, which is extended after all: remove it from the list.`);
    });

    it("counts a server whose extension failed as not protected, with DRS's message", async () => {
        const { access, mocks } = thirdNotExtended();
        mocks.targetDrs.on(DescribeSourceServersCommand, { filters: { stagingAccountIDs: [staging] }, nextToken: "page-2" }).resolves({
            items: [web, db, files].map((id, i) =>
                sourceServer(`s-ffffffffffffff00${i}`, {
                    stagingArea: id === files ? "EXTENSION_ERROR" : "EXTENDED",
                    errorMessage: id === files ? "The staging source server was deleted" : undefined,
                    stagingSourceServerArn: stagingServerArn(staging, region, id),
                }),
            ),
        });
        const coverage = byCheck(await verify({ settings, outputs }, access))["extension-coverage"];
        expect(coverage.status).to.equal("FAIL");
        expect(coverage.message).to.include(`1 whose extension failed (${files} (files-1): The staging source server was deleted)`);
    });

    it("is not checked, never passed, when the staging account's servers cannot be read", async () => {
        const { access, mocks } = healthyAws();
        mocks.stagingDrs
            .on(DescribeSourceServersCommand)
            .rejects(awsError("AccessDeniedException", "User: x is not authorized to perform: drs:DescribeSourceServers"));
        const coverage = byCheck(await verify({ settings, outputs }, access))["extension-coverage"];
        expect(coverage.status).to.equal("UNCHECKED");
        expect(coverage.unchecked?.permission).to.equal("drs:DescribeSourceServers");
    });
});

describe("verify: DRS's roles in other accounts", () => {
    const roleNames = (trusted: string) => [
        `DRSCrossAccountReplicationRole_${trusted}`,
        `DRSCrossAccountAgentRole_${trusted}`,
        `DRSCrossAccountAgentAuthorizedRole_${trusted}`,
    ];
    const withSource = settingsWith({}, { ec2SourceAccounts: [{ accountId: sourceAccount }] });

    it("passes when an EC2 source account has the failback and in-AWS right-sizing roles for the staging account", async () => {
        const { access, mocks } = healthyAws(undefined, { sourceAccounts: [sourceAccount] });
        const result = byCheck(await verify({ settings: withSource, outputs }, access))["ec2-source-account-roles"];
        expect(result).to.include({ status: "PASS", scope: `${staging}/${region} source ${sourceAccount}` });
        const asked = mocks.iam
            .get(sourceAccount)!
            .commandCalls(GetRoleCommand)
            .map((c) => c.args[0].input.RoleName);
        expect(asked).to.deep.equal(roleNames(staging));
    });

    it("fails naming the roles a source account lacks and where to create them", async () => {
        const { access, mocks } = healthyAws(undefined, { sourceAccounts: [sourceAccount] });
        mocks.iam
            .get(sourceAccount)!
            .on(GetRoleCommand, { RoleName: `DRSCrossAccountAgentRole_${staging}` })
            .rejects(awsError("NoSuchEntityException", "The role cannot be found"));
        const result = byCheck(await verify({ settings: withSource, outputs }, access))["ec2-source-account-roles"];
        expect(result.status).to.equal("FAIL");
        expect(result.message).to.equal(
            `${sourceAccount} lacks DRSCrossAccountAgentRole_${staging}: EC2 sources there with Marketplace licences cannot be extended from ${staging}, ` +
                "and the agent installation with --account-id fails.",
        );
        expect(result.fix).to.include(
            `In ${sourceAccount}, add ${staging} as a trusted account with "Failback and in-AWS right-sizing roles"`,
        );
    });

    it("names EC2 sources from an account the entry does not list, without checking there", async () => {
        const { access, mocks } = healthyAws();
        const fromElsewhere = {
            ...sourceServer("s-4", { arn: stagingServerArn(staging, region, "s-4") }),
            sourceCloudProperties: { originAccountID: "999988887777", originRegion: region },
        };
        mocks.stagingDrs.on(DescribeSourceServersCommand).resolves({ items: [fromElsewhere] });
        const result = byCheck(await verify({ settings, outputs }, access))["ec2-source-account-roles"];
        expect(result.status).to.equal("WARN");
        expect(result.message).to.include("999988887777 (s-4)");
        expect(result.fix).to.include("ec2SourceAccounts");
    });

    it("runs no role check where neither EC2 sources from other accounts nor IN_AWS right-sizing are configured", async () => {
        const { access } = healthyAws();
        const checks = (await verify({ settings, outputs }, access)).map((r) => r.check);
        expect(checks).to.not.include("ec2-source-account-roles");
        expect(checks).to.not.include("in-aws-right-sizing-roles");
    });

    it("with IN_AWS right-sizing, checks the staging account for the roles for the target, and warns (inferred) when one is missing", async () => {
        const { access, mocks } = healthyAws();
        const inAws = settingsWith({ launch: [{ region, targetInstanceTypeRightSizingMethod: "IN_AWS" }] });
        const passed = byCheck(await verify({ settings: inAws, outputs }, access))["in-aws-right-sizing-roles"];
        expect(passed.status).to.equal("PASS");
        mocks.stagingIam
            .on(GetRoleCommand, { RoleName: `DRSCrossAccountReplicationRole_${target}` })
            .rejects(awsError("NoSuchEntityException", "The role cannot be found"));
        const warned = byCheck(await verify({ settings: inAws, outputs }, access))["in-aws-right-sizing-roles"];
        expect(warned.status).to.equal("WARN");
        expect(warned.message).to.include(`${staging} lacks DRSCrossAccountReplicationRole_${target} for ${target}`);
        expect(warned.message).to.include("inferred, not documented");
        expect(warned.fix).to.include("Or set targetInstanceTypeRightSizingMethod to BASIC.");
    });
});

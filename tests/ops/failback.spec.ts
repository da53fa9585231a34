// Failback readiness: the config of the way back, what verify checks of it (DRS at the origin,
// DRS's roles in both directions, the origin's key, the Failback Client's credentials, the network
// role), and initialize's origin places, against tests/support/failbackWorld.ts.
import { DescribeReplicationConfigurationTemplatesCommand } from "@aws-sdk/client-drs";
import { GetRoleCommand, ListEntitiesForPolicyCommand } from "@aws-sdk/client-iam";
import { DescribeKeyCommand, GetKeyPolicyCommand } from "@aws-sdk/client-kms";
import { expect } from "chai";
import { ConfigError, parseConfig } from "../../config";
import { placesOf } from "../../ops/initialize/plan";
import { verify } from "../../ops/verify";
import { wayBackOf } from "../../program/contract";
import { awsError, byCheck, keyExport, outputs, region, settings, staging, target } from "../support/verifyWorld";
import { failbackAws, failbackSettings, networkTrust, noSuchRole, origin, originKeyArn, originKeyPolicy } from "../support/failbackWorld";

const toOrigin = failbackSettings({ accountId: origin });
const scope = `${origin}/${region} from ${target}`;

describe("failback: the config of the way back", () => {
    it("defaults the origin to the entry's own account and Region, and on-premises has none", () => {
        const own = failbackSettings({}).stagingAccounts[0];
        expect(wayBackOf(own)).to.deep.equal({ to: "aws", originAccountId: staging, originRegion: region });
        expect(wayBackOf(toOrigin.stagingAccounts[0])).to.deep.equal({ to: "aws", originAccountId: origin, originRegion: region });
        expect(wayBackOf(failbackSettings({ to: "on-premises" }).stagingAccounts[0])).to.deep.equal({ to: "on-premises" });
        expect(wayBackOf(failbackSettings({ networkReplication: true }).stagingAccounts[0])).to.include({ networkReplication: true });
    });

    it("refuses an origin that is the target, an origin role of another account, and AWS settings with on-premises, all at once", () => {
        const parse = () =>
            parseConfig({
                target: { accountId: target },
                stagingAccounts: [
                    { accountId: staging, region, failback: { accountId: target } },
                    {
                        accountId: staging,
                        region: "us-west-2",
                        failback: { to: "on-premises", accountId: origin, networkReplication: true },
                    },
                    { accountId: staging, region: "eu-west-1", failback: { accountId: origin, roleArn: `arn:aws:iam::${staging}:role/R` } },
                ],
            });
        expect(parse).to.throw(ConfigError);
        let message = "";
        try {
            parse();
        } catch (err) {
            message = (err as Error).message;
        }
        expect(message).to.include(`stagingAccounts[0].failback.accountId is the target account ${target}`);
        expect(message).to.include("stagingAccounts[1].failback has accountId, networkReplication with to: on-premises");
        expect(message).to.include(`stagingAccounts[2].failback.roleArn is a role in account ${staging}, not the origin ${origin}.`);
    });

    it("refuses a destination it does not know, naming the two it takes", () => {
        expect(() => failbackSettings({ to: "azure" })).to.throw(
            'stagingAccounts[0].failback.to must be one of aws, on-premises, not "azure".',
        );
    });

    it("makes the origin a place initialize checks and initialises", () => {
        const { places } = placesOf(toOrigin, []);
        expect(places.map((p) => [`${p.accountId}/${p.region}`, p.sides])).to.deep.equal([
            [`${staging}/${region}`, ["staging"]],
            [`${origin}/${region}`, ["failback origin"]],
            [`${target}/${region}`, ["target"]],
        ]);
        // The origin by default is the staging place itself: one place, both sides.
        const own = placesOf(failbackSettings({}), []).places;
        expect(own[0]).to.deep.include({ accountId: staging, sides: ["staging", "failback origin"] });
    });
});

describe("verify: failback readiness", () => {
    const checksOf = async (settings = toOrigin, world = failbackAws()) => byCheck(await verify({ settings, outputs }, world.access));

    it("passes a way back that is ready: DRS at the origin, the roles of both directions, the origin's key", async () => {
        const world = failbackAws();
        const results = await checksOf(toOrigin, world);
        expect(results["failback-origin-drs"]).to.include({ status: "PASS", scope });
        expect(results["failback-roles"]).to.include({ status: "PASS", scope });
        expect(results["failback-origin-key"]).to.include({ status: "PASS", scope });
        expect(results["failback-origin-key"].message).to.include(originKeyArn);
        // Both directions were asked: the origin for the target, the target for the origin.
        const asked = (mock: typeof world.targetIam) => mock.commandCalls(GetRoleCommand).map((c) => c.args[0].input.RoleName);
        expect(asked(world.origin.iam)).to.include.members([
            `DRSCrossAccountReplicationRole_${target}`,
            `DRSCrossAccountAgentAuthorizedRole_${target}`,
        ]);
        expect(asked(world.targetIam)).to.include.members([
            `DRSCrossAccountReplicationRole_${origin}`,
            `DRSCrossAccountAgentRole_${origin}`,
        ]);
        expect(results).to.not.have.property("source-network-roles");
        expect(results).to.not.have.property("failback-client-credentials");
    });

    it("runs no failback check for an entry without a failback setting", async () => {
        const checks = (await verify({ settings, outputs }, failbackAws().access)).map((r) => r.check);
        expect(checks.filter((c) => c.startsWith("failback") || c === "source-network-roles")).to.deep.equal([]);
    });

    it("fails when DRS is not initialised at the origin, naming initialize", async () => {
        const world = failbackAws();
        world.origin.drs.on(DescribeReplicationConfigurationTemplatesCommand).rejects(awsError("UninitializedAccountException"));
        const result = (await checksOf(toOrigin, world))["failback-origin-drs"];
        expect(result.status).to.equal("FAIL");
        expect(result.message).to.include(`DRS is not initialised in ${origin} in ${region}.`);
        expect(result.fix).to.include("initialize -- -s <stack> --apply");
    });

    it("fails naming each direction's missing roles, and where to create them", async () => {
        const world = failbackAws();
        world.origin.iam.on(GetRoleCommand, { RoleName: `DRSCrossAccountAgentRole_${target}` }).rejects(noSuchRole);
        world.targetIam.on(GetRoleCommand, { RoleName: `DRSCrossAccountReplicationRole_${origin}` }).rejects(noSuchRole);
        const result = (await checksOf(toOrigin, world))["failback-roles"];
        expect(result.status).to.equal("FAIL");
        expect(result.message).to.equal(
            `${origin} lacks DRSCrossAccountAgentRole_${target} (for ${target}); ${target} lacks DRSCrossAccountReplicationRole_${origin} (for ${origin}): ` +
                `failback from ${target} to ${origin}/${region} needs both sets in advance.`,
        );
        expect(result.fix).to.include(`In ${origin}, add ${target} as a trusted account`);
        expect(result.fix).to.include(`In ${target}, add ${origin} as a trusted account`);
    });

    it("fails on an origin key whose policy does not name the origin's DRS service-linked role", async () => {
        const world = failbackAws();
        const policy = originKeyPolicy();
        policy.Statement = policy.Statement.filter((s) => !s.Sid.startsWith("AllowStagingDrsServiceRole"));
        world.origin.kms.on(GetKeyPolicyCommand).resolves({ Policy: JSON.stringify(policy) });
        const result = (await checksOf(toOrigin, world))["failback-origin-key"];
        expect(result.status).to.equal("FAIL");
        expect(result.message).to.include(
            "does not allow the origin's DRS service-linked role kms:Decrypt, kms:GenerateDataKeyWithoutPlaintext, kms:ReEncryptFrom, kms:ReEncryptTo, kms:CreateGrant, kms:DescribeKey through EC2",
        );
    });

    it("warns on an origin template on the default EBS key or an AWS managed key, and fails on a disabled key or no template", async () => {
        const world = failbackAws();
        world.origin.drs
            .on(DescribeReplicationConfigurationTemplatesCommand)
            .resolves({ items: [{ replicationConfigurationTemplateID: "rct-1", ebsEncryption: "DEFAULT" }] });
        expect((await checksOf(toOrigin, world))["failback-origin-key"]).to.include({ status: "WARN" });
        world.origin.drs.on(DescribeReplicationConfigurationTemplatesCommand).resolves({
            items: [{ replicationConfigurationTemplateID: "rct-1", ebsEncryption: "CUSTOM", ebsEncryptionKeyArn: originKeyArn }],
        });
        world.origin.kms.on(DescribeKeyCommand).resolves({ KeyMetadata: { KeyId: originKeyArn, KeyState: "Enabled", KeyManager: "AWS" } });
        expect((await checksOf(toOrigin, world))["failback-origin-key"].message).to.include("an AWS managed key");
        world.origin.kms
            .on(DescribeKeyCommand)
            .resolves({ KeyMetadata: { KeyId: originKeyArn, KeyState: "Disabled", KeyManager: "CUSTOMER" } });
        expect((await checksOf(toOrigin, world))["failback-origin-key"]).to.include({ status: "FAIL" });
        world.origin.drs.on(DescribeReplicationConfigurationTemplatesCommand).resolves({ items: [] });
        const none = (await checksOf(toOrigin, world))["failback-origin-key"];
        expect(none.status).to.equal("FAIL");
        expect(none.message).to.include("has no replication template");
    });

    it("says the stack's own key already serves an origin that is a staging place, without reading it again", async () => {
        const world = failbackAws();
        const result = (await checksOf(failbackSettings({}), world))["failback-origin-key"];
        expect(result).to.include({ status: "INFO", scope: `${staging}/${region} from ${target}` });
        expect(result.message).to.include(`its key ${keyExport([staging, region]).keyArn} already serves the way back`);
        expect(world.origin.kms.commandCalls(GetKeyPolicyCommand)).to.have.length(0);
    });

    it("reads a failback setting the outputs export before the config's", async () => {
        const world = failbackAws();
        const exported = {
            ...outputs,
            stagingKeys: [{ ...keyExport([staging, region]), wayBack: { to: "aws", originAccountId: origin, originRegion: region } }],
        };
        const results = byCheck(await verify({ settings, outputs: exported }, world.access));
        expect(results["failback-roles"]).to.include({ status: "PASS", scope });
    });

    it("with failback to on-premises, checks the Failback Client's credentials in the target", async () => {
        const world = failbackAws();
        const onPremises = failbackSettings({ to: "on-premises" });
        const passed = (await checksOf(onPremises, world))["failback-client-credentials"];
        expect(passed).to.include({ status: "PASS", scope: `${target}/${region}` });
        expect(passed.message).to.include(
            "user failback-client holds arn:aws:iam::aws:policy/AWSElasticDisasterRecoveryFailbackInstallationPolicy",
        );
        world.targetIam.on(ListEntitiesForPolicyCommand).resolves({ IsTruncated: false });
        const failed = (await checksOf(onPremises, world))["failback-client-credentials"];
        expect(failed.status).to.equal("FAIL");
        expect(failed.fix).to.include("attach arn:aws:iam::aws:policy/AWSElasticDisasterRecoveryFailbackInstallationPolicy");
        const checks = Object.keys(await checksOf(onPremises, world));
        expect(checks).to.not.include("failback-roles");
    });

    it("with networkReplication, checks the network role of both directions and its trust", async () => {
        const world = failbackAws();
        const network = failbackSettings({ accountId: origin, networkReplication: true });
        expect((await checksOf(network, world))["source-network-roles"]).to.include({ status: "PASS", scope });
        // The target's role trusts the target itself, not the origin: the way back's direction fails.
        world.targetIam.on(GetRoleCommand, { RoleName: "DRSSourceNetworkRole" }).resolves({
            Role: {
                RoleName: "DRSSourceNetworkRole",
                AssumeRolePolicyDocument: encodeURIComponent(JSON.stringify(networkTrust(target))),
            } as never,
        });
        const failed = (await checksOf(network, world))["source-network-roles"];
        expect(failed.status).to.equal("FAIL");
        expect(failed.message).to.include(`${target}'s DRSSourceNetworkRole does not let DRS assume it for ${origin}'s source networks`);
    });

    it("counts a refused read as UNCHECKED, never as ready", async () => {
        const world = failbackAws();
        world.origin.kms.on(GetKeyPolicyCommand).rejects(awsError("AccessDeniedException", "not authorized to perform: kms:GetKeyPolicy"));
        const result = (await checksOf(toOrigin, world))["failback-origin-key"];
        expect(result.status).to.equal("UNCHECKED");
    });
});

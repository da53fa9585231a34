import * as aws from "@pulumi/aws";
import { expect } from "chai";
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as yaml from "js-yaml";
import * as path from "path";
import { ComponentProvider, getPulumiComponents } from "@pulumi/pulumi/provider/experimental";
import * as library from "../../components/plugin";
import { argsTables, componentProvider, packageReadme, pluginName, snapshotPath, withTables } from "../../scripts/schema";
import { byType, installMocks, settle, unwrap } from "../support/mocks";

// The components as a Pulumi component package, for Python, Go, .NET, Java and YAML programs.
const components = path.join(__dirname, "..", "..", "components");
type Schema = {
    resources: Record<
        string,
        { requiredInputs: string[]; inputProperties: Record<string, { plain?: boolean; $ref?: string }>; required: string[] }
    >;
    types: Record<string, { enum?: { value: string }[] }>;
};

describe("component package", () => {
    let schema: Schema;
    // One provider for every test: analysing the sources for the schema takes seconds.
    let provider: ComponentProvider;

    before(async function () {
        this.timeout(60_000);
        provider = componentProvider();
        schema = JSON.parse(await provider.getSchema());
    });

    it("generates the schema in the snapshot (run `npm run schema` after changing an Args or output)", () => {
        expect(schema).to.deep.equal(JSON.parse(fs.readFileSync(snapshotPath, "utf8")));
    });

    it("offers every component under drs-cross-account-kms:index, with its required inputs and outputs", () => {
        const summary = Object.fromEntries(
            Object.entries(schema.resources).map(([token, r]) => [token, { required: r.requiredInputs, outputs: r.required }]),
        );
        expect(summary).to.deep.equal({
            "drs-cross-account-kms:index:DrsCrossAccountKey": {
                required: ["region", "stagingAccountId", "stagingRoleArn", "targetAccountId"],
                outputs: ["aliasArn", "aliasName", "keyArn", "keyId"],
            },
            "drs-cross-account-kms:index:DrsKeyLossAlerts": {
                required: ["accountId", "keyArn", "keyId", "region"],
                outputs: ["ruleArns", "topicArn"],
            },
            "drs-cross-account-kms:index:DrsLaunchSettings": { required: [], outputs: ["templateArn", "templateId"] },
            "drs-cross-account-kms:index:DrsPermissionSetKeyAccess": {
                required: ["instanceArn", "permissionSetArns", "policyNames"],
                outputs: ["permissionSetArns"],
            },
            "drs-cross-account-kms:index:DrsReplicationTemplate": {
                required: ["ebsEncryptionKeyArn", "region", "stagingAreaSubnetId"],
                outputs: ["templateArn", "templateId"],
            },
            "drs-cross-account-kms:index:DrsStagingRole": {
                required: ["targetAccountId"],
                outputs: ["roleArn", "roleName", "roleUniqueId"],
            },
            "drs-cross-account-kms:index:DrsTargetKeyAccess": {
                required: ["keys"],
                outputs: ["attachedRoleNames", "policyArns", "policyNames"],
            },
        });
    });

    it("keeps as plain values the inputs that decide names and resource options, and types the choices as enums", () => {
        const key = schema.resources["drs-cross-account-kms:index:DrsCrossAccountKey"].inputProperties;
        expect(key.protect.plain).to.equal(true);
        expect(key.targetAccess.$ref).to.equal("#/types/drs-cross-account-kms:index:TargetAccess");
        expect(schema.types["drs-cross-account-kms:index:TargetAccess"].enum!.map((e) => e.value)).to.deep.equal([
            "documented",
            "ebs-shared-snapshots",
        ]);
        expect(schema.resources["drs-cross-account-kms:index:DrsTargetKeyAccess"].inputProperties.roleNames.plain).to.equal(true);
    });

    it("constructs a component from another language's inputs and returns its outputs", async () => {
        const mocks = await installMocks();
        const theirs = new aws.Provider("theirs", { region: "us-east-1", allowedAccountIds: ["444455556666"] });
        const result = await provider.construct(
            "from-python",
            "drs-cross-account-kms:index:DrsCrossAccountKey",
            {
                stagingAccountId: "444455556666",
                targetAccountId: "111122223333",
                region: "us-east-1",
                stagingRoleArn: "arn:aws:iam::444455556666:role/service-role/DRSStagingAccountRole_111122223333",
                targetAccess: "documented",
            },
            { provider: theirs },
        );
        const state = result.state as Record<string, unknown>;
        expect(Object.keys(state).sort()).to.deep.equal(["aliasArn", "aliasName", "keyArn", "keyId"]);
        expect(await unwrap(state.keyArn as string)).to.match(/^arn:aws:kms:us-east-1:444455556666:key\//);
        expect(await unwrap(result.urn)).to.match(/drs-cross-account-kms:index:DrsCrossAccountKey::from-python$/);
        await settle();
        expect(byType(mocks, "aws:kms/key:Key").map((k) => k.provider)).to.deep.equal(["theirs"]);
    });

    it("is served by Pulumi's plugin host from package.json main, and is a library through exports", () => {
        const manifest = JSON.parse(fs.readFileSync(path.join(components, "package.json"), "utf8"));
        // The host requires the folder (Node then reads "main": every component, launch settings
        // included); npm consumers resolve the package name and its subpaths through "exports".
        expect([manifest.name, manifest.main, pluginName()]).to.deep.equal(["drs-cross-account-kms", "plugin.ts", "drs-cross-account-kms"]);
        expect(manifest.exports["."]).to.deep.equal({ types: "./dist/index.d.ts", default: "./dist/index.js" });
        expect(manifest.exports["./launch"]).to.deep.equal({ types: "./dist/launch.d.ts", default: "./dist/launch.js" });
        expect(manifest.exports["./testing"]).to.deep.equal({ types: "./dist/testing.d.ts", default: "./dist/testing.js" });
        expect(manifest.peerDependenciesMeta).to.deep.equal({ "@pulumi/aws-native": { optional: true } });
        expect(getPulumiComponents(library).map((c) => c.name)).to.have.members([
            "DrsCrossAccountKey",
            "DrsStagingRole",
            "DrsReplicationTemplate",
            "DrsKeyLossAlerts",
            "DrsTargetKeyAccess",
            "DrsPermissionSetKeyAccess",
            "DrsLaunchSettings",
        ]);
        expect(yaml.load(fs.readFileSync(path.join(components, "PulumiPlugin.yaml"), "utf8"))).to.deep.equal({ runtime: "nodejs" });
    });

    it("documents every Arg and output in the package README, as the schema has them (npm run schema rewrites the tables)", () => {
        const readme = fs.readFileSync(packageReadme, "utf8");
        expect(withTables(readme, argsTables(schema as never))).to.equal(readme);
        expect(readme).to.include("### DrsLaunchSettings");
    });

    it("loads @pulumi/aws-native only through the launch subpath, never through the main entry", () => {
        const loaded = (entry: string) =>
            execFileSync(
                process.execPath,
                [
                    "-r",
                    "sucrase/register/ts",
                    "-e",
                    `require(${JSON.stringify(path.join(components, entry))}); console.log(Object.keys(require.cache).some((m) => m.includes("@pulumi/aws-native")))`,
                ],
                { encoding: "utf8" },
            ).trim();
        expect([loaded("index.ts"), loaded("launch.ts")]).to.deep.equal(["false", "true"]);
    });
});

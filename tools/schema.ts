// npm run schema: the component schema that other languages' SDKs are generated from, derived
// the way Pulumi's Node.js plugin host does it (every ComponentResource that components/index.ts
// exports, under the package's name, analysed from the TypeScript sources). Writes the snapshot
// the tests compare against (tests/fixtures/component-schema.json).
import { ComponentProvider, getPulumiComponents } from "@pulumi/pulumi/provider/experimental";
import * as fs from "fs";
import * as path from "path";
import * as library from "../components";

export const componentsDir = path.join(__dirname, "..", "components");
export const snapshotPath = path.join(__dirname, "..", "tests", "fixtures", "component-schema.json");

/** The provider name the plugin host derives from package.json ("drs-cross-account-kms"). */
export function pluginName(): string {
    const { name } = JSON.parse(fs.readFileSync(path.join(componentsDir, "package.json"), "utf8")) as { name: string };
    return name.replace(/^@.*?\//, "").replace(/[^-a-zA-Z0-9_]/g, "-");
}

export function componentProvider(): ComponentProvider {
    return new ComponentProvider({ name: pluginName(), components: getPulumiComponents(library), dirname: componentsDir });
}

export async function componentSchema(): Promise<Record<string, unknown>> {
    return JSON.parse(await componentProvider().getSchema());
}

if (require.main === module) {
    componentSchema().then((schema) => {
        fs.mkdirSync(path.dirname(snapshotPath), { recursive: true });
        fs.writeFileSync(snapshotPath, `${JSON.stringify(schema, null, 4)}\n`);
        console.log(`wrote ${path.relative(process.cwd(), snapshotPath)}`);
    });
}

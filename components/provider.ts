// Entry point when this folder runs as a Pulumi component plugin (`pulumi package add`): Pulumi
// starts the package's "default" export, while Node resolves `require`/`import` of the package
// to the built library (see package.json "exports").
import { componentProviderHost } from "@pulumi/pulumi/provider/experimental";
import { pluginComponents, pluginName } from "./plugin";

componentProviderHost({ name: pluginName, components: pluginComponents, dirname: __dirname }).catch((err) => {
    console.error(err);
    process.exit(1);
});

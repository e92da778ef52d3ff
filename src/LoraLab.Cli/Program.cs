return LoraLab.Cli.CliApp.Run(args);

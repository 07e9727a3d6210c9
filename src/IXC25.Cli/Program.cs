using System.CommandLine;
using IXC25.Cli;

return Cli.Run(args);

using IXC25.Cli;

using var interrupts = InterruptHandler.Install(Console.Error);
return Cli.Run(args);

// The setup every notebook loads with its first code cell, `#load "setup.csx"`: the packages the workbook provides,
// the library (built by ./workbook run), and the namespaces the notebooks use. The usings carry over to every cell.
#r "nuget: TorchSharp-cpu, 0.107.0"
#r "nuget: Plotly.NET.CSharp, 0.14.0"
#r "nuget: Microsoft.Data.Analysis, 0.23.1"
#r "../artifacts/bin/NoPrior/release/NoPrior.dll"
using NoPrior;
using NoPrior.Attack;
using NoPrior.Data;
using NoPrior.Display;
using NoPrior.IO;
using NoPrior.Kkt;
using NoPrior.Lemmas;
using NoPrior.Metrics;
using NoPrior.Networks;
using NoPrior.Training;
using Microsoft.Data.Analysis;
using TorchSharp;
using static TorchSharp.torch;

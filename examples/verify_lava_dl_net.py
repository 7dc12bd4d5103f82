"""Check a netx network that razor-neuro did not train (here Intel's Oxford tutorial net)
against the torch reference, then report its spikes and Loihi 1 energy.

    .venv/bin/python examples/verify_lava_dl_net.py [NET_DIR]

NET_DIR holds ``network.net`` and ``input.npy`` (slayer event format or a dense array in
netx order with a trailing time axis); default ../shared/external/lava-dl-oxford.
"""
import sys
from pathlib import Path

from razor_neuro.export.verify import verify_net
from razor_neuro.export.report.make import report_net

net_dir = Path(sys.argv[1] if len(sys.argv) > 1 else "../shared/external/lava-dl-oxford")
result = verify_net(net_dir / "network.net", net_dir / "input.npy", steps=2000)
for layer in result["layers"]:
    print(f"{layer['name']}: Lava {layer['lava_spikes']} spikes, reference "
          f"{layer['reference_spikes']}, mismatches {layer['mismatches']}")
report = report_net("reports/oxford", net_dir / "network.net", net_dir / "input.npy",
                    steps=2000, profile="loihi1", overwrite=True)
print(f"report written to {report.path}")

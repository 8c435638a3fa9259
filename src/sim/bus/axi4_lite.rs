//! AXI4-Lite, the host as manager. A write offers its address (AW) and data (W) together,
//! each held until its ready, then takes the response (B); a read offers its address (AR),
//! then takes the data (R). One transaction at a time; a response other than OKAY is an
//! error of the image.

use super::{Fail, Port, Protocol, Role, Word, DATA, STROBE};

#[derive(Debug)]
pub struct Axi4Lite;

// Inputs.
const AWVALID: usize = 0;
const AWADDR: usize = 1;
const WVALID: usize = 2;
const WDATA: usize = 3;
const WSTRB: usize = 4;
const BREADY: usize = 5;
const ARVALID: usize = 6;
const ARADDR: usize = 7;
const RREADY: usize = 8;
// Outputs.
const AWREADY: usize = 0;
const WREADY: usize = 1;
const BVALID: usize = 2;
const BRESP: usize = 3;
const ARREADY: usize = 4;
const RVALID: usize = 5;
const RDATA: usize = 6;
const RRESP: usize = 7;

impl Protocol for Axi4Lite {
    fn name(&self) -> &'static str {
        "axi4_lite"
    }
    fn inputs(&self) -> &'static [Role] {
        &[
            Role { key: "awvalid", required: true, width: Some(1) },
            Role { key: "awaddr", required: true, width: None },
            Role { key: "wvalid", required: true, width: Some(1) },
            Role { key: "wdata", required: true, width: DATA },
            Role { key: "wstrb", required: true, width: STROBE },
            Role { key: "bready", required: true, width: Some(1) },
            Role { key: "arvalid", required: true, width: Some(1) },
            Role { key: "araddr", required: true, width: None },
            Role { key: "rready", required: true, width: Some(1) },
        ]
    }
    fn outputs(&self) -> &'static [Role] {
        &[
            Role { key: "awready", required: true, width: Some(1) },
            Role { key: "wready", required: true, width: Some(1) },
            Role { key: "bvalid", required: true, width: Some(1) },
            Role { key: "bresp", required: false, width: Some(2) },
            Role { key: "arready", required: true, width: Some(1) },
            Role { key: "rvalid", required: true, width: Some(1) },
            Role { key: "rdata", required: true, width: DATA },
            Role { key: "rresp", required: false, width: Some(2) },
        ]
    }
    fn byte_addressed(&self) -> bool {
        true
    }
    fn can_read(&self) -> bool {
        true
    }
    fn write(&self, port: &mut Port, w: Word, what: &dyn Fn() -> String) -> Result<(), Fail> {
        let what = || format!("the write of {} (address {:#x})", what(), w.addr);
        port.set(AWVALID, 1);
        port.set(AWADDR, w.addr);
        port.set(WVALID, 1);
        port.set(WDATA, w.data);
        port.set(WSTRB, w.strobe);
        let (mut aw, mut wd) = (false, false);
        for _ in 0..port.timeout.max(1) {
            port.cycle()?;
            aw |= port.get(AWREADY) != 0;
            wd |= port.get(WREADY) != 0;
            // A channel whose handshake happened at this edge goes idle for the next cycle.
            if aw {
                port.set(AWVALID, 0);
            }
            if wd {
                port.set(WVALID, 0);
            }
            if aw && wd {
                break;
            }
        }
        if !(aw && wd) {
            let signal = if aw { "wready" } else { "awready" };
            return Err(Fail::Timeout(format!(
                "no {signal} within {} cycles for {}",
                port.timeout,
                what()
            )));
        }
        port.set(BREADY, 1);
        port.until("bvalid", &what, |p| p.get(BVALID) != 0)?;
        port.set(BREADY, 0);
        match port.get(BRESP) {
            0 => Ok(()),
            r => Err(Fail::Response(format!("bresp {r:#b} for {}", what()))),
        }
    }
    fn read(&self, port: &mut Port, addr: u64, what: &dyn Fn() -> String) -> Result<u64, Fail> {
        let what = || format!("the read of {} (address {addr:#x})", what());
        port.set(ARVALID, 1);
        port.set(ARADDR, addr);
        port.until("arready", &what, |p| p.get(ARREADY) != 0)?;
        port.set(ARVALID, 0);
        port.set(RREADY, 1);
        port.until("rvalid", &what, |p| p.get(RVALID) != 0)?;
        port.set(RREADY, 0);
        match port.get(RRESP) {
            0 => Ok(port.get(RDATA)),
            r => Err(Fail::Response(format!("rresp {r:#b} for {}", what()))),
        }
    }
    fn verilog(&self) -> &'static str {
        r#"  // AXI4-Lite: AW and W offered together, each held until its ready, then B; AR, then R.
  task bus_write(input [63:0] a, input [63:0] d, input [63:0] st, input [63:0] sel);
    reg aw, wd;
    begin
      h_awvalid = 1'b1; h_awaddr = a; h_wvalid = 1'b1; h_wdata = d; h_wstrb = st;
      aw = 1'b0; wd = 1'b0; guard = 0;
      while (!(aw && wd)) begin
        if (guard == Timeout) begin $display("cnn_bound_tb: no awready/wready for address %0h", a); $finish; end
        guard = guard + 1;
        step;
        if (s_awready) aw = 1'b1;
        if (s_wready) wd = 1'b1;
        if (aw) h_awvalid = 1'b0;
        if (wd) h_wvalid = 1'b0;
      end
      h_bready = 1'b1; guard = 0;
      step;
      while (!s_bvalid) begin
        if (guard == Timeout) begin $display("cnn_bound_tb: no bvalid for address %0h", a); $finish; end
        guard = guard + 1;
        step;
      end
      h_bready = 1'b0;
    end
  endtask
  task bus_read(input [63:0] a, output [63:0] d);
    begin
      h_arvalid = 1'b1; h_araddr = a; guard = 0;
      step;
      while (!s_arready) begin
        if (guard == Timeout) begin $display("cnn_bound_tb: no arready for address %0h", a); $finish; end
        guard = guard + 1;
        step;
      end
      h_arvalid = 1'b0; h_rready = 1'b1; guard = 0;
      step;
      while (!s_rvalid) begin
        if (guard == Timeout) begin $display("cnn_bound_tb: no rvalid for address %0h", a); $finish; end
        guard = guard + 1;
        step;
      end
      d = s_rdata;
      h_rready = 1'b0;
    end
  endtask
"#
    }
}

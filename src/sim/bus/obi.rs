//! OBI (OpenHW Open Bus Interface 1.x), the host as manager: a request is held (req, addr,
//! we, be, wdata) until a cycle with gnt accepts it (address phase); its response is the
//! next cycle with rvalid (rdata for a read). One transaction at a time.

use super::{Fail, Port, Protocol, Role, Word, DATA, STROBE};

#[derive(Debug)]
pub struct Obi;

const REQ: usize = 0;
const ADDR: usize = 1;
const WE: usize = 2;
const BE: usize = 3;
const WDATA: usize = 4;
const GNT: usize = 0;
const RVALID: usize = 1;
const RDATA: usize = 2;

impl Obi {
    fn transfer(
        &self,
        port: &mut Port,
        w: Word,
        we: bool,
        what: &dyn Fn() -> String,
    ) -> Result<u64, Fail> {
        port.set(REQ, 1);
        port.set(ADDR, w.addr);
        port.set(WE, we as u64);
        port.set(BE, w.strobe);
        port.set(WDATA, w.data);
        let op = if we { "write" } else { "read" };
        let what = || format!("the {op} of {} (address {:#x})", what(), w.addr);
        port.until("gnt", &what, |p| p.get(GNT) != 0)?;
        port.set(REQ, 0);
        port.set(WE, 0);
        port.until("rvalid", &what, |p| p.get(RVALID) != 0)?;
        Ok(port.get(RDATA))
    }
}

impl Protocol for Obi {
    fn name(&self) -> &'static str {
        "obi"
    }
    fn inputs(&self) -> &'static [Role] {
        &[
            Role { key: "req", required: true, width: Some(1) },
            Role { key: "addr", required: true, width: None },
            Role { key: "we", required: true, width: Some(1) },
            Role { key: "be", required: true, width: STROBE },
            Role { key: "wdata", required: true, width: DATA },
        ]
    }
    fn outputs(&self) -> &'static [Role] {
        &[
            Role { key: "gnt", required: true, width: Some(1) },
            Role { key: "rvalid", required: true, width: Some(1) },
            Role { key: "rdata", required: true, width: DATA },
        ]
    }
    fn byte_addressed(&self) -> bool {
        true
    }
    fn can_read(&self) -> bool {
        true
    }
    fn write(&self, port: &mut Port, w: Word, what: &dyn Fn() -> String) -> Result<(), Fail> {
        self.transfer(port, w, true, what).map(|_| ())
    }
    fn read(&self, port: &mut Port, addr: u64, what: &dyn Fn() -> String) -> Result<u64, Fail> {
        let w = Word { addr, data: 0, strobe: 0, select: None };
        self.transfer(port, w, false, what)
    }
    fn verilog(&self) -> &'static str {
        r#"  // OBI: the request held until gnt, then the response: the next cycle with rvalid.
  task bus_transfer(input [63:0] a, input [63:0] d, input [63:0] st, input we, output [63:0] q);
    begin
      h_req = 1'b1; h_addr = a; h_we = we; h_be = st; h_wdata = d;
      guard = 0;
      step;
      while (!s_gnt) begin
        if (guard == Timeout) begin $display("cnn_bound_tb: no gnt for address %0h", a); $finish; end
        guard = guard + 1;
        step;
      end
      h_req = 1'b0; h_we = 1'b0;
      guard = 0;
      step;
      while (!s_rvalid) begin
        if (guard == Timeout) begin $display("cnn_bound_tb: no rvalid for address %0h", a); $finish; end
        guard = guard + 1;
        step;
      end
      q = s_rdata;
    end
  endtask
  task bus_write(input [63:0] a, input [63:0] d, input [63:0] st, input [63:0] sel);
    reg [63:0] q;
    begin
      bus_transfer(a, d, st, 1'b1, q);
    end
  endtask
  task bus_read(input [63:0] a, output [63:0] d);
    begin
      bus_transfer(a, 64'd0, 64'd0, 1'b0, d);
    end
  endtask
"#
    }
}

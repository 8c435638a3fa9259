//! A plain load port: every cycle with write enable high writes one word (address, data,
//! optionally a select/bank value and byte enables); no handshake, no reads.

use super::{Fail, Port, Protocol, Role, Word, DATA, STROBE};

#[derive(Debug)]
pub struct LoadPort;

const WE: usize = 0;
const ADDR: usize = 1;
const DATA_IN: usize = 2;
const SELECT: usize = 3;
const BE: usize = 4;

impl Protocol for LoadPort {
    fn name(&self) -> &'static str {
        "load_port"
    }
    fn inputs(&self) -> &'static [Role] {
        &[
            Role { key: "we", required: true, width: Some(1) },
            Role { key: "addr", required: true, width: None },
            Role { key: "data", required: true, width: DATA },
            Role { key: "select", required: false, width: None },
            Role { key: "be", required: false, width: STROBE },
        ]
    }
    fn outputs(&self) -> &'static [Role] {
        &[]
    }
    fn byte_addressed(&self) -> bool {
        false
    }
    fn can_read(&self) -> bool {
        false
    }
    fn write(&self, port: &mut Port, w: Word, _what: &dyn Fn() -> String) -> Result<(), Fail> {
        port.set(WE, 1);
        port.set(ADDR, w.addr);
        port.set(DATA_IN, w.data);
        port.set(SELECT, w.select.unwrap_or(0));
        port.set(BE, w.strobe);
        port.cycle()?;
        port.set(WE, 0);
        Ok(())
    }
    fn read(&self, _port: &mut Port, _addr: u64, what: &dyn Fn() -> String) -> Result<u64, Fail> {
        Err(Fail::Response(format!("{}: a load port cannot read", what())))
    }
    fn verilog(&self) -> &'static str {
        r#"  // A load port: the word is written at the next rising edge.
  task bus_write(input [63:0] a, input [63:0] d, input [63:0] st, input [63:0] sel);
    begin
      h_we = 1'b1; h_addr = a; h_data = d; h_select = sel; h_be = st;
      step;
      h_we = 1'b0;
    end
  endtask
  task bus_read(input [63:0] a, output [63:0] d);
    begin
      d = 64'd0;
      $display("cnn_bound_tb: a load port cannot read (address %0h)", a);
      $finish;
    end
  endtask
"#
    }
}

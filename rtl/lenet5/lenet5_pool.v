// lenet5_pool: ReLU, the 2x2 average pools S2 and S4, and the write-back of every result
// a later layer reads into lenet5_act_store.
//   C1/C3 stages: the conv results of one pool window arrive back to back (lenet5_sequencer's
//   order: (2pr, 2pc), (2pr, 2pc+1), (2pr+1, 2pc), (2pr+1, 2pc+1)); the ReLU'd values are
//   summed and the fourth gives the average round(sum / 4) with ties away from zero, which
//   for sum >= 0 is (sum + 2) >> 2, registered with its coordinates (the S2 / S4 tap) and
//   written back from that register: S2 (ch, y, x) to bank 5 (y % 5) + x % 5, word
//   ActS2 + 9 ch + 3 (y / 5) + x / 5; S4 (ch, y, x) to bank 5 y + x, word ActS4 + ch.
//   C5 stage: each conv result, ReLU'd, is written back at once: V5 element n = ch to bank
//   n % 25, word ActV5 + n / 25.
//   F6 stage: each dense result, ReLU'd: V6 element n to bank n % 25, word ActV6 + n / 25.
// Latency: pool result 1 cycle after the window's last conv result; write-back in the
// cycle its source register holds the value (C1/C3: the pool register, C5: the conv
// register, F6: the dense register).
module lenet5_pool #(
  parameter [2:0]   StC1  = 3'd1,
  parameter [2:0]   StC3  = 3'd2,
  parameter [2:0]   StC5  = 3'd3,
  parameter [2:0]   StF6  = 3'd4,
  parameter integer ActS2 = 49,
  parameter integer ActS4 = 103,
  parameter integer ActV5 = 119,
  parameter integer ActV6 = 124
) (
  input  wire              clk_i,
  input  wire              rst_ni,
  input  wire [2:0]        stage_i,
  input  wire              conv_valid_i,
  input  wire signed [7:0] conv_data_i,
  input  wire [6:0]        conv_ch_i,
  input  wire [4:0]        conv_row_i,
  input  wire [4:0]        conv_col_i,
  input  wire              dense_valid_i,
  input  wire signed [7:0] dense_data_i,  // F6's int8 result
  input  wire [6:0]        dense_idx_i,
  output wire              pool_valid_o,   // the S2 / S4 tap: pool_*_q, read by path
  output wire              wb_we_o,
  output wire [4:0]        wb_bank_o,
  output wire [6:0]        wb_addr_o,
  output wire [7:0]        wb_data_o
);

  wire pooling = (stage_i == StC1) || (stage_i == StC3);

  // ---- ReLU and the 2x2 average
  wire [8:0] relu      = conv_data_i[7] ? 9'd0 : {2'b00, conv_data_i[6:0]};
  wire       win_first = !conv_row_i[0] && !conv_col_i[0];
  wire       win_last  = conv_row_i[0] && conv_col_i[0];
  reg  [8:0] sum_q;    // the window's ReLU'd values so far, <= 3 * 127
  wire [8:0] sum       = (win_first ? 9'd0 : sum_q) + relu;   // <= 508
  // (sum + 2) >> 2 <= 127: bits 1..0 are the discarded quarter
  /* verilator lint_off UNUSEDSIGNAL */
  wire [8:0] avg_round = sum + 9'd2;
  /* verilator lint_on UNUSEDSIGNAL */

  reg              pool_valid_q;
  reg signed [7:0] pool_q;
  reg [3:0]        pool_ch_q, pool_row_q, pool_col_q;

  always @(posedge clk_i) begin
    if (!rst_ni) begin
      pool_valid_q <= 1'b0;
    end else begin
      pool_valid_q <= conv_valid_i && pooling && win_last;
    end
  end

  always @(posedge clk_i) begin
    if (conv_valid_i && pooling) begin
      sum_q <= sum;
      if (win_last) begin
        pool_q     <= {1'b0, avg_round[8:2]};
        pool_ch_q  <= conv_ch_i[3:0];
        pool_row_q <= conv_row_i[4:1];
        pool_col_q <= conv_col_i[4:1];
      end
    end
  end

  assign pool_valid_o = pool_valid_q;

  // ---- write-back addresses
  // S2: (ch, y, x), y, x <= 13
  wire [3:0] y_q = pool_row_q / 4'd5;
  wire [3:0] y_m = pool_row_q % 4'd5;
  wire [3:0] x_q = pool_col_q / 4'd5;
  wire [3:0] x_m = pool_col_q % 4'd5;
  wire [6:0] ch7 = {3'd0, pool_ch_q};
  wire [6:0] s2_addr = ActS2[6:0] + (ch7 << 3) + ch7 + ({3'd0, y_q} << 1) + {3'd0, y_q}
                       + {3'd0, x_q};
  wire [4:0] s2_bank = ({1'b0, y_m} << 2) + {1'b0, y_m} + {1'b0, x_m};
  // S4: (ch, y, x), y, x <= 4
  wire [6:0] s4_addr = ActS4[6:0] + ch7;
  wire [4:0] s4_bank = ({1'b0, pool_row_q} << 2) + {1'b0, pool_row_q} + {1'b0, pool_col_q};
  // V5 / V6: element n <= 119
  wire [6:0] n      = (stage_i == StC5) ? conv_ch_i : dense_idx_i;
  wire [6:0] n_q    = n / 7'd25;
  // n % 25 < 25: bits 6..5 are always 0
  /* verilator lint_off UNUSEDSIGNAL */
  wire [6:0] n_m    = n % 7'd25;
  /* verilator lint_on UNUSEDSIGNAL */
  wire [6:0] v_addr = ((stage_i == StC5) ? ActV5[6:0] : ActV6[6:0]) + n_q;
  wire [7:0] v_data = (stage_i == StC5) ? (conv_data_i[7] ? 8'd0 : conv_data_i)
                                        : (dense_data_i[7] ? 8'd0 : dense_data_i);

  assign wb_we_o   = (pooling && pool_valid_q) ||
                     ((stage_i == StC5) && conv_valid_i) ||
                     ((stage_i == StF6) && dense_valid_i);
  assign wb_bank_o = (stage_i == StC1) ? s2_bank : (stage_i == StC3) ? s4_bank : n_m[4:0];
  assign wb_addr_o = (stage_i == StC1) ? s2_addr : (stage_i == StC3) ? s4_addr : v_addr;
  assign wb_data_o = pooling ? pool_q : v_data;

endmodule

// lenet5_sequencer: the layer state machine (stage_q) and the loops that issue one
// window x kernel product to the shared engine per cycle.
//   C1  (stage StC1):  o < 6,   pr < 14, pc < 14, sub < 4, one input   4,704 issues
//   C3  (stage StC3):  o < 16,  pr < 5,  pc < 5,  sub < 4, i in C3Connections[o]  6,000
//   C5  (stage StC5):  o < 120, i < 16                                 1,920
//   F6  (stage StF6):  o < 84,  chunk i < 5 (25 inputs each, 20 in the last)  420
//   out (stage StOut): o < 10,  chunk i < 4 (9 in the last)              40
// innermost first: i (the input channels / chunks one output sums), then sub (the 2x2
// block of an avgpool window: (2pr, 2pc), (2pr, 2pc+1), (2pr+1, 2pc), (2pr+1, 2pc+1)),
// then pc, pr, o. So the conv outputs of one pool window come out back to back and the
// pool needs no line buffer. Output (o, r, c), r = 2pr + sub[1], c = 2pc + sub[0]; its
// window's top-left is (r, c) in storage coordinates (C1: the padded image, C3: S2; C5
// and the dense layers read whole 5x5 blocks at (0, 0)).
// C3's unconnected (output, input) pairs are skipped: i steps to the next set bit of
// C3Connections row o, one cycle per connected pair (the stored weights of a masked pair
// are never read). C1's padding is masked per window lane (padded row/column outside
// 2..29), as are the lanes past the end of a dense layer's last chunk.
// After its last issue a stage waits until the engine's pipeline is empty (pipe_busy_i
// low: every result of the stage written back), then the next stage starts; after the
// output layer, stage_q returns to StIdle with a one-cycle done_o.
// Latency: the issue signals are combinational from the loop registers (cycle of issue).
module lenet5_sequencer #(
  parameter [2:0] StIdle = 3'd0,
  parameter [2:0] StC1   = 3'd1,
  parameter [2:0] StC3   = 3'd2,
  parameter [2:0] StC5   = 3'd3,
  parameter [2:0] StF6   = 3'd4,
  parameter [2:0] StOut  = 3'd5,
  parameter integer RowC1  = 0,     // lenet5_weight_store rows
  parameter integer RowC3  = 6,
  parameter integer RowC5  = 102,
  parameter integer RowF6  = 2022,
  parameter integer RowOut = 2442,
  parameter integer RowW   = 12,
  parameter integer ActImage = 0,   // lenet5_act_store regions
  parameter integer ActS2    = 49,
  parameter integer ActS4    = 103,
  parameter integer ActV5    = 119,
  parameter integer ActV6    = 124,
  parameter integer ParC1  = 0,     // lenet5_param_store channel indices
  parameter integer ParC3  = 6,
  parameter integer ParC5  = 22,
  parameter integer ParF6  = 142,
  parameter integer ParOut = 226
) (
  input  wire            clk_i,
  input  wire            rst_ni,
  input  wire            start_i,      // start an inference (ignored unless idle)
  input  wire            pipe_busy_i,  // results of issued products still in flight
  output wire [2:0]      stage_o,
  output wire            done_o,       // the output layer drained (one cycle)
  // issue (this cycle)
  output wire            issue_o,
  output wire            first_o,      // the output's first product: start from the bias
  output wire            last_o,       // the output's last product: requantize
  output wire [6:0]      ch_o,         // output coordinates: channel / index
  output wire [4:0]      row_o,
  output wire [4:0]      col_o,
  output wire [7:0]      par_o,        // lenet5_param_store index of the output channel
  output wire [RowW-1:0] wrow_o,       // weight row
  output wire [6:0]      abase_o,      // activation window: region/channel base
  output wire [1:0]      amode_o,      //   blocks per row (lenet5_act_store modes)
  output wire [24:0]     mask_o        // window lanes taking part
);

  // LeCun et al. 1998, Table I, as vectors/networks/lenet5.toml lists it: row o (output
  // map o) left to right is input maps 0..5; output o sums input i when bit
  // 95 - (6 o + i) is set.
  localparam [95:0] C3Connections = {
    6'b111000,  //  0
    6'b011100,  //  1
    6'b001110,  //  2
    6'b000111,  //  3
    6'b100011,  //  4
    6'b110001,  //  5
    6'b111100,  //  6
    6'b011110,  //  7
    6'b001111,  //  8
    6'b100111,  //  9
    6'b110011,  // 10
    6'b111001,  // 11
    6'b110110,  // 12
    6'b011011,  // 13
    6'b101101,  // 14
    6'b111111   // 15
  };

  localparam [1:0] ModeImage = 2'd0;  // lenet5_act_store: 7 blocks per row
  localparam [1:0] ModeS2    = 2'd1;  //                   3 blocks per row
  localparam [1:0] ModeFlat  = 2'd2;  //                   one block

  // C3 row o as a 6-bit mask, bit i = input i
  function automatic [5:0] c3_row(input [3:0] o);
    integer i, row;
    begin
      row = {28'd0, o};
      row = 95 - ((row << 2) + (row << 1));   // bit of (o, 0); 6 o without a multiplier
      for (i = 0; i < 6; i = i + 1) c3_row[i] = C3Connections[row - i];
    end
  endfunction

  // the lowest set bit of a 6-bit mask (0 when none)
  function automatic [3:0] lowest(input [5:0] m);
    integer i;
    begin
      lowest = 4'd0;
      for (i = 5; i >= 0; i = i - 1) if (m[i]) lowest = i[3:0];
    end
  endfunction

  reg [2:0] stage_q;
  reg       issuing_q;
  reg [6:0] o_q;
  reg [3:0] pr_q, pc_q, i_q;
  reg [1:0] sub_q;

  // ---- loop bounds of the stage
  reg [6:0] o_max;
  reg [3:0] p_max, i_max;
  reg [1:0] sub_max;
  always @(*) begin
    o_max = 7'd0; p_max = 4'd0; sub_max = 2'd0; i_max = 4'd0;
    case (stage_q)
      StC1:  begin o_max = 7'd5;   p_max = 4'd13; sub_max = 2'd3; i_max = 4'd0;  end
      StC3:  begin o_max = 7'd15;  p_max = 4'd4;  sub_max = 2'd3; i_max = 4'd5;  end
      StC5:  begin o_max = 7'd119;                                i_max = 4'd15; end
      StF6:  begin o_max = 7'd83;                                 i_max = 4'd4;  end
      StOut: begin o_max = 7'd9;                                  i_max = 4'd3;  end
      default: ;
    endcase
  end

  wire       in_c3   = (stage_q == StC3);
  wire [5:0] conn    = c3_row(o_q[3:0]);
  wire [5:0] below   = (6'd2 << i_q) - 6'd1;      // bits 0..i
  wire [5:0] above   = conn & ~below;             // connected inputs after i
  wire       last_i  = in_c3 ? (above == 6'd0) : (i_q == i_max);
  wire       first_i = in_c3 ? (i_q == lowest(conn)) : (i_q == 4'd0);
  wire [3:0] i_step  = in_c3 ? lowest(above) : i_q + 4'd1;

  wire last_sub = (sub_q == sub_max);
  wire last_pc  = (pc_q == p_max);
  wire last_pr  = (pr_q == p_max);
  wire last_oc  = (o_q == o_max);
  wire wrap_sub = last_i && last_sub;
  wire wrap_pc  = wrap_sub && last_pc;
  wire wrap_pr  = wrap_pc && last_pr;
  wire last_all = wrap_pr && last_oc;

  wire [6:0] o_next = wrap_pr ? o_q + 7'd1 : o_q;
  // the first input of an output: C3's lowest connected input, else 0
  wire [3:0] i_first = in_c3 ? lowest(c3_row(o_next[3:0])) : 4'd0;

  // ---- the stage after this one, and its first input
  reg [2:0] stage_next;
  always @(*) begin
    case (stage_q)
      StC1:    stage_next = StC3;
      StC3:    stage_next = StC5;
      StC5:    stage_next = StF6;
      StF6:    stage_next = StOut;
      default: stage_next = StIdle;
    endcase
  end
  wire [3:0] i_start = (stage_next == StC3) ? lowest(c3_row(4'd0)) : 4'd0;
  wire       drained = !issuing_q && (stage_q != StIdle) && !pipe_busy_i;

  always @(posedge clk_i) begin
    if (!rst_ni) begin
      stage_q   <= StIdle;
      issuing_q <= 1'b0;
      o_q       <= 7'd0;
      pr_q      <= 4'd0;
      pc_q      <= 4'd0;
      sub_q     <= 2'd0;
      i_q       <= 4'd0;
    end else if (stage_q == StIdle) begin
      if (start_i) begin
        stage_q   <= StC1;
        issuing_q <= 1'b1;
        o_q       <= 7'd0;
        pr_q      <= 4'd0;
        pc_q      <= 4'd0;
        sub_q     <= 2'd0;
        i_q       <= 4'd0;
      end
    end else if (issuing_q) begin
      i_q <= last_i ? i_first : i_step;
      if (last_i)   sub_q <= last_sub ? 2'd0 : sub_q + 2'd1;
      if (wrap_sub) pc_q  <= last_pc ? 4'd0 : pc_q + 4'd1;
      if (wrap_pc)  pr_q  <= last_pr ? 4'd0 : pr_q + 4'd1;
      if (wrap_pr)  o_q   <= last_oc ? 7'd0 : o_next;
      if (last_all) issuing_q <= 1'b0;
    end else if (drained) begin
      stage_q   <= stage_next;
      issuing_q <= (stage_next != StIdle);
      i_q       <= i_start;
    end
  end

  // ---- issue outputs
  wire [4:0] r = {pr_q, sub_q[1]};   // 2 pr + sub[1]; 0 outside C1/C3
  wire [4:0] c = {pc_q, sub_q[0]};

  wire [RowW-1:0] o_w = {{(RowW-7){1'b0}}, o_q};
  wire [RowW-1:0] i_w = {{(RowW-4){1'b0}}, i_q};
  wire [6:0]      i_a = {3'd0, i_q};
  reg  [RowW-1:0] wrow;
  reg  [6:0]      abase;
  reg  [1:0]      amode;
  reg  [7:0]      pbase;
  always @(*) begin
    case (stage_q)
      StC1: begin   // kernel o
        wrow = RowC1[RowW-1:0] + o_w;
        abase = ActImage[6:0];        amode = ModeImage;  pbase = ParC1[7:0];
      end
      StC3: begin   // kernel (o, i): 6 o + i; S2 channel i at 9 i
        wrow = RowC3[RowW-1:0] + (o_w << 2) + (o_w << 1) + i_w;
        abase = ActS2[6:0] + (i_a << 3) + i_a;  amode = ModeS2;  pbase = ParC3[7:0];
      end
      StC5: begin   // kernel (o, i): 16 o + i; S4 channel i
        wrow = RowC5[RowW-1:0] + (o_w << 4) + i_w;
        abase = ActS4[6:0] + i_a;     amode = ModeFlat;   pbase = ParC5[7:0];
      end
      StF6: begin   // output o, chunk i: 5 o + i
        wrow = RowF6[RowW-1:0] + (o_w << 2) + o_w + i_w;
        abase = ActV5[6:0] + i_a;     amode = ModeFlat;   pbase = ParF6[7:0];
      end
      default: begin  // output layer: output o, chunk i: 4 o + i
        wrow = RowOut[RowW-1:0] + (o_w << 2) + i_w;
        abase = ActV6[6:0] + i_a;     amode = ModeFlat;   pbase = ParOut[7:0];
      end
    endcase
  end

  // lane 5 dr + dc of the window: C1's padding (padded row or column outside 2..29) and
  // the lanes past the inputs of a dense layer's last chunk (F6: 20, output: 9) are out
  genvar dr, dc;
  generate
    for (dr = 0; dr < 5; dr = dr + 1) begin : g_mr
      for (dc = 0; dc < 5; dc = dc + 1) begin : g_mc
        localparam integer L = 5 * dr + dc;
        localparam [4:0] Dr = dr;
        localparam [4:0] Dc = dc;
        wire [4:0] pr_pad = r + Dr;   // <= 27 + 4
        wire [4:0] pc_pad = c + Dc;
        wire pad = (stage_q == StC1) &&
                   ((pr_pad < 5'd2) || (pr_pad > 5'd29) || (pc_pad < 5'd2) || (pc_pad > 5'd29));
        wire tail = ((stage_q == StF6) && (i_q == 4'd4) && (L >= 20)) ||
                    ((stage_q == StOut) && (i_q == 4'd3) && (L >= 9));
        assign mask_o[L] = !pad && !tail;
      end
    end
  endgenerate

  assign stage_o = stage_q;
  assign done_o  = drained && (stage_next == StIdle);
  assign issue_o = issuing_q;
  assign first_o = first_i;
  assign last_o  = last_i;
  assign ch_o    = o_q;
  assign row_o   = r;
  assign col_o   = c;
  assign par_o   = pbase + {1'b0, o_q};
  assign wrow_o  = wrow;
  assign abase_o = abase;
  assign amode_o = amode;

endmodule

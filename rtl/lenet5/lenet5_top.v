// lenet5_top: LeNet-5 (vectors/networks/lenet5.toml: int8, TFLite-style per-channel
// requantization) behind an AXI4-Lite slave. The host writes the weights once and then,
// per image, the 784 pixels, a start, polls STATUS and reads CLASS (register map in
// rtl/lenet5/README.md and docs/rtl.md).
// One shared engine computes every layer, one 25-term product (a 5x5 window times a 5x5
// kernel, or 25 inputs times 25 weights of a dense layer) per cycle:
//   u_seq (lenet5_sequencer)   layer state machine + loops: what to compute each cycle
//   u_act (lenet5_act_store)   image / S2 / S4 / V5 / V6 in 25 banks: one window per cycle
//   u_wts (lenet5_weight_store) all int8 weights, 25 lanes: one kernel / chunk per cycle
//   u_par (lenet5_param_store) bias, multiplier, shift per output channel
//   u_dot (lenet5_dot)         25 multipliers + adder tree
//   accumulator (here)         bias + the sum of an output's products
//   u_rq  (lenet5_requant)     SRDHM + RDBPOT + saturation to int8
//   u_pool (lenet5_pool)       ReLU, 2x2 average pools, write-back into u_act
// Pipeline: the cycle after the issue (cycle 0, u_seq's loop registers) in which each
// register holds its value: 1 RAM data (window rotated combinationally); 2 masked
// operands; 3 sum of the 25 products; 4 accumulator; 5 acc * M; 6 SRDHM; 7 requantized
// int8; 8 conv / dense taps (C5 and F6 values written back); 9 S2 / S4 taps (written
// back). The output layer's raw accumulator reaches the dense tap in cycle 5.
// Taps (rtl/lenet5/README.md): stage u_seq.stage_q; conv engine conv_valid_q, conv_q,
// conv_ch_q / conv_row_q / conv_col_q; pools u_pool.pool_*_q; dense engine dense_valid_q,
// dense_q, dense_idx_q; class class_q.
// Latency: start -> done 13,131 cycles (C1 4,704 + C3 6,000 + C5 1,920 + F6 420 + output
// 40 issues, plus each layer's pipeline drain).
module lenet5_top (
  input  wire        clk_i,
  input  wire        rst_ni,

  input  wire        s_axil_awvalid_i,
  output wire        s_axil_awready_o,
  input  wire [16:0] s_axil_awaddr_i,
  input  wire        s_axil_wvalid_i,
  output wire        s_axil_wready_o,
  input  wire [31:0] s_axil_wdata_i,
  input  wire [3:0]  s_axil_wstrb_i,
  output wire        s_axil_bvalid_o,
  input  wire        s_axil_bready_i,
  output wire [1:0]  s_axil_bresp_o,
  input  wire        s_axil_arvalid_i,
  output wire        s_axil_arready_o,
  input  wire [16:0] s_axil_araddr_i,
  output wire        s_axil_rvalid_o,
  input  wire        s_axil_rready_i,
  output wire [31:0] s_axil_rdata_o,
  output wire [1:0]  s_axil_rresp_o
);

  // ---- layer stages (u_seq.stage_q)
  localparam [2:0] StIdle = 3'd0;
  localparam [2:0] StC1   = 3'd1;
  localparam [2:0] StC3   = 3'd2;
  localparam [2:0] StC5   = 3'd3;
  localparam [2:0] StF6   = 3'd4;
  localparam [2:0] StOut  = 3'd5;
  // ---- weight store rows: kernel / chunk rows of each layer
  localparam integer RowC1  = 0;      //    6 kernels
  localparam integer RowC3  = 6;      //   96 kernels (16 x 6, masked pairs included)
  localparam integer RowC5  = 102;    // 1920 kernels (120 x 16)
  localparam integer RowF6  = 2022;   //  420 chunks  (84 x 5)
  localparam integer RowOut = 2442;   //   40 chunks  (10 x 4)
  localparam integer Rows   = 2482;
  localparam integer RowW   = 12;
  // ---- activation store regions (words of each bank)
  localparam integer ActImage = 0;    // 49 words: 7 x 7 blocks of the padded 32 x 32 image
  localparam integer ActS2    = 49;   // 54 words: 6 channels x 3 x 3 blocks
  localparam integer ActS4    = 103;  // 16 words: 16 channels x 1 block
  localparam integer ActV5    = 119;  //  5 words: 120 values
  localparam integer ActV6    = 124;  //  4 words: 84 values
  // ---- parameter store channel indices
  localparam integer ParC1  = 0;
  localparam integer ParC3  = 6;
  localparam integer ParC5  = 22;
  localparam integer ParF6  = 142;
  localparam integer ParOut = 226;
  // ---- registers (word addresses)
  localparam [14:0] WaCtrl   = 15'h0000;  // 0x00000
  localparam [14:0] WaStatus = 15'h0001;  // 0x00004
  localparam [14:0] WaClass  = 15'h0002;  // 0x00008
  localparam [14:0] WaImage  = 15'h0100;  // 0x00400, 196 words
  localparam [14:0] ImgWords = 15'd196;

  // ---------------------------------------------------------------- bus
  wire        wr_valid;
  wire [14:0] wr_addr;
  wire [31:0] wr_data;
  wire [3:0]  wr_be;
  wire [14:0] rd_addr;
  reg  [31:0] rd_data;
  wire        busy;

  // an image write waits while an inference reads the image memory
  wire [14:0] wr_img_k = wr_addr - WaImage;
  wire        wr_hold  = busy && (wr_addr >= WaImage) && (wr_img_k < ImgWords);

  lenet5_axil_slave #(
    .AddrW(17)
  ) u_axil (
    .clk_i           (clk_i),
    .rst_ni          (rst_ni),
    .s_axil_awvalid_i(s_axil_awvalid_i),
    .s_axil_awready_o(s_axil_awready_o),
    .s_axil_awaddr_i (s_axil_awaddr_i),
    .s_axil_wvalid_i (s_axil_wvalid_i),
    .s_axil_wready_o (s_axil_wready_o),
    .s_axil_wdata_i  (s_axil_wdata_i),
    .s_axil_wstrb_i  (s_axil_wstrb_i),
    .s_axil_bvalid_o (s_axil_bvalid_o),
    .s_axil_bready_i (s_axil_bready_i),
    .s_axil_bresp_o  (s_axil_bresp_o),
    .s_axil_arvalid_i(s_axil_arvalid_i),
    .s_axil_arready_o(s_axil_arready_o),
    .s_axil_araddr_i (s_axil_araddr_i),
    .s_axil_rvalid_o (s_axil_rvalid_o),
    .s_axil_rready_i (s_axil_rready_i),
    .s_axil_rdata_o  (s_axil_rdata_o),
    .s_axil_rresp_o  (s_axil_rresp_o),
    .wr_hold_i       (wr_hold),
    .wr_valid_o      (wr_valid),
    .wr_addr_o       (wr_addr),
    .wr_data_o       (wr_data),
    .wr_be_o         (wr_be),
    .rd_addr_o       (rd_addr),
    .rd_data_i       (rd_data)
  );

  // ---------------------------------------------------------------- control
  wire [2:0]      stage;
  wire            seq_done;
  wire            pipe_busy;
  wire            issue, first, last;
  wire [6:0]      iss_ch;
  wire [4:0]      iss_row, iss_col;
  wire [7:0]      iss_par;
  wire [RowW-1:0] iss_wrow;
  wire [6:0]      iss_abase;
  wire [1:0]      iss_amode;
  wire [24:0]     iss_mask;

  // CTRL: bit 0 of byte lane 0 starts an inference (ignored while busy)
  wire start = wr_valid && (wr_addr == WaCtrl) && wr_be[0] && wr_data[0] && !busy;
  assign busy = (stage != StIdle);

  lenet5_sequencer #(
    .StIdle  (StIdle),
    .StC1    (StC1),
    .StC3    (StC3),
    .StC5    (StC5),
    .StF6    (StF6),
    .StOut   (StOut),
    .RowC1   (RowC1),
    .RowC3   (RowC3),
    .RowC5   (RowC5),
    .RowF6   (RowF6),
    .RowOut  (RowOut),
    .RowW    (RowW),
    .ActImage(ActImage),
    .ActS2   (ActS2),
    .ActS4   (ActS4),
    .ActV5   (ActV5),
    .ActV6   (ActV6),
    .ParC1   (ParC1),
    .ParC3   (ParC3),
    .ParC5   (ParC5),
    .ParF6   (ParF6),
    .ParOut  (ParOut)
  ) u_seq (
    .clk_i      (clk_i),
    .rst_ni     (rst_ni),
    .start_i    (start),
    .pipe_busy_i(pipe_busy),
    .stage_o    (stage),
    .done_o     (seq_done),
    .issue_o    (issue),
    .first_o    (first),
    .last_o     (last),
    .ch_o       (iss_ch),
    .row_o      (iss_row),
    .col_o      (iss_col),
    .par_o      (iss_par),
    .wrow_o     (iss_wrow),
    .abase_o    (iss_abase),
    .amode_o    (iss_amode),
    .mask_o     (iss_mask)
  );

  // ---------------------------------------------------------------- memories
  wire [199:0] window;
  wire [199:0] weights;
  wire         wb_we;
  wire [4:0]   wb_bank;
  wire [6:0]   wb_addr;
  wire [7:0]   wb_data;

  lenet5_act_store u_act (
    .clk_i     (clk_i),
    .wr_valid_i(wr_valid),
    .wr_addr_i (wr_addr),
    .wr_data_i (wr_data),
    .wr_be_i   (wr_be),
    .eng_we_i  (wb_we),
    .eng_bank_i(wb_bank),
    .eng_addr_i(wb_addr),
    .eng_data_i(wb_data),
    .base_i    (iss_abase),
    .mode_i    (iss_amode),
    .r_i       (iss_row),
    .c_i       (iss_col),
    .window_o  (window)
  );

  lenet5_weight_store #(
    .RowC1 (RowC1),
    .RowC3 (RowC3),
    .RowC5 (RowC5),
    .RowF6 (RowF6),
    .RowOut(RowOut),
    .Rows  (Rows),
    .RowW  (RowW)
  ) u_wts (
    .clk_i     (clk_i),
    .wr_valid_i(wr_valid),
    .wr_addr_i (wr_addr),
    .wr_data_i (wr_data),
    .wr_be_i   (wr_be),
    .rd_row_i  (iss_wrow),
    .rd_data_o (weights)
  );

  // ---------------------------------------------------------------- tag pipeline
  // stage s (1..7 cycles after issue) holds the issue's valid in valid_q[s] and its tag
  // in tag_q[(s-1)*TagW +: TagW]
  localparam integer TagW = 27;
  wire [TagW-1:0]   tag0 = {first, last, iss_ch, iss_row, iss_col, iss_par};
  reg  [7:1]        valid_q;
  reg  [7*TagW-1:0] tag_q;
  reg  [24:0]       mask_q;   // stage 1

  always @(posedge clk_i) begin
    if (!rst_ni) valid_q <= 7'd0;
    else         valid_q <= {valid_q[6:1], issue};
  end

  always @(posedge clk_i) begin
    tag_q  <= {tag_q[6*TagW-1:0], tag0};
    mask_q <= iss_mask;
  end

  // the fields of stage s's tag (every field rides through every stage; each stage reads
  // the ones it needs)
  /* verilator lint_off UNUSEDSIGNAL */
  wire [TagW-1:0] tag2 = tag_q[1*TagW +: TagW];
  wire [TagW-1:0] tag3 = tag_q[2*TagW +: TagW];
  wire [TagW-1:0] tag4 = tag_q[3*TagW +: TagW];
  wire [TagW-1:0] tag7 = tag_q[6*TagW +: TagW];
  /* verilator lint_on UNUSEDSIGNAL */
  wire            first3 = tag3[26];
  wire            last4  = tag4[25];
  wire [6:0]      ch4    = tag4[24:18];
  wire [7:0]      par2   = tag2[7:0];
  wire [7:0]      par3   = tag3[7:0];
  wire [6:0]      ch7    = tag7[24:18];
  wire [4:0]      row7   = tag7[17:13];
  wire [4:0]      col7   = tag7[12:8];

  // ---------------------------------------------------------------- MACs, accumulator
  wire signed [20:0] dot;   // stage 3

  lenet5_dot #(
    .N   (25),
    .SumW(21)
  ) u_dot (
    .clk_i (clk_i),
    .a_i   (window),
    .b_i   (weights),
    .mask_i(mask_q),
    .sum_o (dot)
  );

  wire [23:0] bias;       // stage 3 (read in stage 2)
  wire [30:0] mult;       // stage 4 (read in stage 3)
  wire [5:0]  shift;

  lenet5_param_store #(
    .ParC1   (ParC1),
    .ParC3   (ParC3),
    .ParC5   (ParC5),
    .ParF6   (ParF6),
    .ParOut  (ParOut),
    .NumBias (236),
    .NumScale(226)
  ) u_par (
    .clk_i        (clk_i),
    .wr_valid_i   (wr_valid),
    .wr_addr_i    (wr_addr),
    .wr_data_i    (wr_data),
    .wr_be_i      (wr_be),
    .bias_raddr_i (par2),
    .bias_o       (bias),
    .scale_raddr_i(par3),
    .mult_o       (mult),
    .shift_o      (shift)
  );

  // acc = bias + the sum of the output's products (int32: the network's bounds)
  reg  signed [31:0] acc_q;   // stage 4
  wire signed [31:0] acc_base = first3 ? {{8{bias[23]}}, bias} : acc_q;
  always @(posedge clk_i) begin
    if (valid_q[3]) acc_q <= acc_base + {{11{dot[20]}}, dot};
  end

  wire acc_done = valid_q[4] && last4;   // acc_q is an output's accumulator

  // ---------------------------------------------------------------- requantization
  wire              rq_valid;   // stage 7
  wire signed [7:0] rq_data;

  lenet5_requant u_rq (
    .clk_i  (clk_i),
    .rst_ni (rst_ni),
    .valid_i(acc_done && (stage != StOut)),
    .acc_i  (acc_q),
    .mult_i (mult),
    .shift_i(shift),
    .valid_o(rq_valid),
    .data_o (rq_data)
  );

  // ---------------------------------------------------------------- taps
  // conv engine (C1, C3, C5): int8 after requantization and saturation, before ReLU
  reg              conv_valid_q;
  reg signed [7:0] conv_q;
  reg [6:0]        conv_ch_q;
  reg [4:0]        conv_row_q;
  reg [4:0]        conv_col_q;
  // dense engine: F6's int8 (sign-extended) or the output layer's raw accumulator
  reg               dense_valid_q;
  reg signed [31:0] dense_q;
  reg [6:0]         dense_idx_q;

  wire conv_stage = (stage == StC1) || (stage == StC3) || (stage == StC5);

  always @(posedge clk_i) begin
    if (!rst_ni) begin
      conv_valid_q  <= 1'b0;
      dense_valid_q <= 1'b0;
    end else begin
      conv_valid_q  <= rq_valid && conv_stage;
      dense_valid_q <= (rq_valid && (stage == StF6)) || (acc_done && (stage == StOut));
    end
  end

  always @(posedge clk_i) begin
    if (rq_valid && conv_stage) begin
      conv_q     <= rq_data;
      conv_ch_q  <= ch7;
      conv_row_q <= row7;
      conv_col_q <= col7;
    end
    if (rq_valid && (stage == StF6)) begin
      dense_q     <= {{24{rq_data[7]}}, rq_data};
      dense_idx_q <= ch7;
    end else if (acc_done && (stage == StOut)) begin
      dense_q     <= acc_q;
      dense_idx_q <= ch4;
    end
  end

  // ---------------------------------------------------------------- pools, write-back
  wire pool_valid;   // u_pool.pool_valid_q: a pool result is being written back

  lenet5_pool #(
    .StC1 (StC1),
    .StC3 (StC3),
    .StC5 (StC5),
    .StF6 (StF6),
    .ActS2(ActS2),
    .ActS4(ActS4),
    .ActV5(ActV5),
    .ActV6(ActV6)
  ) u_pool (
    .clk_i        (clk_i),
    .rst_ni       (rst_ni),
    .stage_i      (stage),
    .conv_valid_i (conv_valid_q),
    .conv_data_i  (conv_q),
    .conv_ch_i    (conv_ch_q),
    .conv_row_i   (conv_row_q),
    .conv_col_i   (conv_col_q),
    .dense_valid_i(dense_valid_q),
    .dense_data_i (dense_q[7:0]),
    .dense_idx_i  (dense_idx_q),
    .pool_valid_o (pool_valid),
    .wb_we_o      (wb_we),
    .wb_bank_o    (wb_bank),
    .wb_addr_o    (wb_addr),
    .wb_data_o    (wb_data)
  );

  // ---------------------------------------------------------------- argmax, status
  // the logits come in index order 0..9; a later one must be strictly greater to win
  reg signed [31:0] best_q;
  reg [3:0]         class_q;
  reg               class_valid_q;
  reg               done_q;

  wire logit = dense_valid_q && (stage == StOut);
  wire take  = (dense_idx_q == 7'd0) || (dense_q > best_q);

  always @(posedge clk_i) begin
    if (logit && take) best_q <= dense_q;
  end

  always @(posedge clk_i) begin
    if (!rst_ni) begin
      class_q       <= 4'd0;
      class_valid_q <= 1'b0;
      done_q        <= 1'b0;
    end else begin
      if (logit && take) class_q <= dense_idx_q[3:0];
      class_valid_q <= logit && (dense_idx_q == 7'd9);
      if (start)         done_q <= 1'b0;
      else if (seq_done) done_q <= 1'b1;
    end
  end

  assign pipe_busy = (|valid_q) || conv_valid_q || dense_valid_q || pool_valid
                     || class_valid_q;

  always @(*) begin
    case (rd_addr)
      WaStatus: rd_data = {30'd0, busy, done_q};
      WaClass:  rd_data = {28'd0, class_q};
      default:  rd_data = 32'd0;
    endcase
  end

endmodule

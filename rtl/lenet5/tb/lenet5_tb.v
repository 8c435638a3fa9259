// lenet5_tb: an AXI4-Lite master for lenet5_top (Icarus -g2012, or Verilator --binary
// --timing). Loads a weight set over the bus, then per image writes the 196 image words,
// starts, polls STATUS until done, reads CLASS, and writes every tap beat to a file for
// compare.py (rtl/lenet5/tb/run.sh does all of it).
//
// Plusargs:
//   +writes=FILE    $readmemh file, one write per line: {byte address (20 bits), data (32)}
//   +nwrites=N      its number of lines
//   +images=FILE    $readmemh file, 196 words per image (prep.py)
//   +nimages=N      images to run (default 1)
//   +first=K        index of the first image, only for the output's image numbers (default 0)
//   +out=FILE       tap beats, one per line (default taps.txt)
//   +seed=S         random seed (default 1)
//   +delay_pct=P    chance (%) of random gaps: before AWVALID and WVALID (independently, so
//                   AW and W come in either order or together), BREADY, ARVALID and RREADY
//                   (default 30; 0 = every valid/ready as early as possible, BREADY and
//                   RREADY always high: the timing the measurements use)
//   +early          write the next image's first word right after each start: it must be
//                   held (no B response) until the inference is done
//   +stages         print every change of the stage register u_seq.stage_q with its cycle
//   +split_pct=P    chance (%) that a write is split into writes of 1..4 byte lanes each,
//                   with garbage in the lanes whose strobe is 0, plus sometimes a write
//                   with no strobe at all (default 20; 0 = plain full-word writes)
//
// Tap lines: "<image> <layer> <channel> <row> <col> <value>" for c1, s2, c3, s4, c5;
// "<image> <layer> <index> <value>" for f6 and output; "<image> class <class> <cycles>".
// The layer is named by the stage register (u_seq.stage_q) at the beat, exactly as a
// harness qualifies the shared taps; a beat in a stage that cannot produce it is an error.
// Prints per image the cycles from start to done and from the first image write to the
// class read's data, and ends with "lenet5_tb: DONE" (or "lenet5_tb: FAIL ...").
module lenet5_tb;

  parameter integer MaxWrites = 20000;
  parameter integer MaxImages = 1000;
  parameter integer Watchdog  = 100000;   // cycles per image

  reg clk = 1'b0;
  reg rst_n = 1'b0;
  always #5 clk = ~clk;

  reg         awvalid = 1'b0;
  reg  [16:0] awaddr  = 17'd0;
  reg         wvalid  = 1'b0;
  reg  [31:0] wdata   = 32'd0;
  reg  [3:0]  wstrb   = 4'd0;
  reg         bready  = 1'b0;
  reg         arvalid = 1'b0;
  reg  [16:0] araddr  = 17'd0;
  reg         rready  = 1'b0;
  wire        awready, wready, bvalid, arready, rvalid;
  wire [1:0]  bresp, rresp;
  wire [31:0] rdata;

  lenet5_top dut (
    .clk_i           (clk),
    .rst_ni          (rst_n),
    .s_axil_awvalid_i(awvalid),
    .s_axil_awready_o(awready),
    .s_axil_awaddr_i (awaddr),
    .s_axil_wvalid_i (wvalid),
    .s_axil_wready_o (wready),
    .s_axil_wdata_i  (wdata),
    .s_axil_wstrb_i  (wstrb),
    .s_axil_bvalid_o (bvalid),
    .s_axil_bready_i (bready),
    .s_axil_bresp_o  (bresp),
    .s_axil_arvalid_i(arvalid),
    .s_axil_arready_o(arready),
    .s_axil_araddr_i (araddr),
    .s_axil_rvalid_o (rvalid),
    .s_axil_rready_i (rready),
    .s_axil_rdata_o  (rdata),
    .s_axil_rresp_o  (rresp)
  );

  reg [51:0] wr_mem  [0:MaxWrites-1];
  reg [31:0] img_mem [0:MaxImages*196-1];

  integer seed = 1;
  integer delay_pct = 30;
  integer split_pct = 20;
  integer nwrites = 0, nimages = 1, first = 0;
  integer fd;
  integer errors = 0;
  integer cycle = 0;
  integer image = -1;     // image being run (for the tap lines)
  reg [1023:0] path;

  always @(posedge clk) cycle <= cycle + 1;

  function integer chance(input integer pct);
    begin
      chance = (($random(seed) & 32'h7fffffff) % 100) < pct;
    end
  endfunction

  // with chance pct, a random gap of 1..4 cycles; else none
  function integer gap(input integer pct);
    begin
      gap = chance(pct) ? 1 + (($random(seed) & 32'h7fffffff) % 4) : 0;
    end
  endfunction

  // ---- one AXI write: AW and W after independent random gaps, then B
  task axi_write_raw(input [16:0] addr, input [31:0] data, input [3:0] strb);
    integer d_aw, d_w, n, aw_done, w_done, b_done;
    begin
      d_aw = gap(delay_pct);
      d_w  = gap(delay_pct);
      aw_done = 0; w_done = 0; b_done = 0; n = 0;
      while (!(aw_done && w_done)) begin
        @(negedge clk);
        awvalid = !aw_done && (n >= d_aw);
        awaddr  = awvalid ? addr : $random(seed);
        wvalid  = !w_done && (n >= d_w);
        wdata   = wvalid ? data : $random(seed);
        wstrb   = wvalid ? strb : $random(seed);
        bready  = (delay_pct == 0) ? 1'b1 : chance(50);
        #1;
        if (awvalid && awready) aw_done = 1;
        if (wvalid && wready)   w_done = 1;
        if (bvalid && bready)   b_done = 1;   // cannot happen before both are in
        n = n + 1;
      end
      while (!b_done) begin
        @(negedge clk);
        awvalid = 1'b0;
        wvalid  = 1'b0;
        bready  = (delay_pct == 0) ? 1'b1 : !chance(delay_pct);
        #1;
        if (bvalid && bready) begin
          b_done = 1;
          if (bresp !== 2'b00) begin
            $display("lenet5_tb: ERROR: BRESP %b at write 0x%05x", bresp, addr);
            errors = errors + 1;
          end
        end
      end
      // the next transfer drives the bus from the next falling edge on
    end
  endtask

  // ---- a write of a whole word, sometimes as several writes of some byte lanes each
  // (garbage in the lanes not strobed), sometimes with an extra write strobing nothing
  task axi_write(input [16:0] addr, input [31:0] data);
    reg [3:0] left, part;
    reg [31:0] junk, lanes;
    begin
      if (!chance(split_pct)) begin
        axi_write_raw(addr, data, 4'hf);
      end else begin
        left = 4'hf;
        while (left != 4'h0) begin
          part = left & $random(seed);
          if (part == 4'h0) part = left;
          junk  = $random(seed);
          lanes = {{8{part[3]}}, {8{part[2]}}, {8{part[1]}}, {8{part[0]}}};
          axi_write_raw(addr, (data & lanes) | (junk & ~lanes), part);
          left = left & ~part;
          if (chance(20)) axi_write_raw(addr, $random(seed), 4'h0);
        end
      end
    end
  endtask

  // ---- one AXI read
  task axi_read(input [16:0] addr, output [31:0] data);
    integer d_ar, d_r, n, ar_done, r_done;
    begin
      d_ar = gap(delay_pct);
      d_r  = gap(delay_pct);
      ar_done = 0; r_done = 0; n = 0;
      while (!r_done) begin
        @(negedge clk);
        arvalid = !ar_done && (n >= d_ar);
        araddr  = arvalid ? addr : $random(seed);
        rready  = (delay_pct == 0) ? 1'b1 : (ar_done && (n >= d_ar + d_r)) || chance(30);
        #1;
        if (rvalid && rready) begin
          r_done = 1;
          data = rdata;
          if (rresp !== 2'b00) begin
            $display("lenet5_tb: ERROR: RRESP %b at read 0x%05x", rresp, addr);
            errors = errors + 1;
          end
        end
        if (arvalid && arready) ar_done = 1;
        n = n + 1;
      end
    end
  endtask

  // ---- tap monitor (sampled mid-cycle: registers are stable)
  wire [2:0] stage = dut.u_seq.stage_q;
  integer beats_conv, beats_pool, beats_dense;
  always @(negedge clk) begin
    if (rst_n && dut.conv_valid_q) begin
      beats_conv = beats_conv + 1;
      if (stage == 3'd1 || stage == 3'd2 || stage == 3'd3)
        $fdisplay(fd, "%0d %s %0d %0d %0d %0d", image,
                  stage == 3'd1 ? "c1" : stage == 3'd2 ? "c3" : "c5",
                  dut.conv_ch_q, dut.conv_row_q, dut.conv_col_q, dut.conv_q);
      else begin
        $display("lenet5_tb: ERROR: conv beat in stage %0d", stage);
        errors = errors + 1;
      end
    end
    if (rst_n && dut.u_pool.pool_valid_q) begin
      beats_pool = beats_pool + 1;
      if (stage == 3'd1 || stage == 3'd2)
        $fdisplay(fd, "%0d %s %0d %0d %0d %0d", image, stage == 3'd1 ? "s2" : "s4",
                  dut.u_pool.pool_ch_q, dut.u_pool.pool_row_q, dut.u_pool.pool_col_q,
                  dut.u_pool.pool_q);
      else begin
        $display("lenet5_tb: ERROR: pool beat in stage %0d", stage);
        errors = errors + 1;
      end
    end
    if (rst_n && dut.dense_valid_q) begin
      beats_dense = beats_dense + 1;
      if (stage == 3'd4)
        $fdisplay(fd, "%0d f6 %0d %0d", image, dut.dense_idx_q, $signed(dut.dense_q[7:0]));
      else if (stage == 3'd5)
        $fdisplay(fd, "%0d output %0d %0d", image, dut.dense_idx_q, dut.dense_q);
      else begin
        $display("lenet5_tb: ERROR: dense beat in stage %0d", stage);
        errors = errors + 1;
      end
      if (stage == 3'd4 && dut.dense_q !== {{24{dut.dense_q[7]}}, dut.dense_q[7:0]}) begin
        $display("lenet5_tb: ERROR: f6 beat not a sign-extended int8: %0d", dut.dense_q);
        errors = errors + 1;
      end
    end
  end

  // +stages: print every change of the stage register, with its cycle
  reg [2:0] stage_d = 3'd0;
  integer show_stages = 0;
  integer early = 0;
  always @(posedge clk) begin
    stage_d <= stage;
    if (show_stages != 0 && stage != stage_d)
      $display("lenet5_tb: cycle %0d: stage %0d", cycle, stage);
  end

  // cycle of the start write and of done rising
  integer t_start, t_done;
  reg done_d = 1'b0;
  always @(posedge clk) begin
    done_d <= dut.done_q;
    if (dut.done_q && !done_d) t_done = cycle;
    if (dut.start) t_start = cycle;
  end

  integer i, k, t_first, polls, min_sd, max_sd, min_fc, max_fc, sum_sd;
  reg [31:0] status, cls;
  reg [51:0] w;

  initial begin
    if ($value$plusargs("seed=%d", seed)) ;
    if ($value$plusargs("delay_pct=%d", delay_pct)) ;
    if ($value$plusargs("split_pct=%d", split_pct)) ;
    if ($value$plusargs("nimages=%d", nimages)) ;
    if ($value$plusargs("first=%d", first)) ;
    if ($test$plusargs("stages")) show_stages = 1;
    if ($test$plusargs("early")) early = 1;
    if (!$value$plusargs("nwrites=%d", nwrites)) begin
      $display("lenet5_tb: FAIL: +nwrites=N missing");
      $finish;
    end
    if (!$value$plusargs("writes=%s", path)) begin
      $display("lenet5_tb: FAIL: +writes=FILE missing");
      $finish;
    end
    $readmemh(path, wr_mem, 0, nwrites - 1);
    if (!$value$plusargs("images=%s", path)) begin
      $display("lenet5_tb: FAIL: +images=FILE missing");
      $finish;
    end
    $readmemh(path, img_mem, 0, nimages * 196 - 1);
    if (!$value$plusargs("out=%s", path)) path = "taps.txt";
    fd = $fopen(path, "w");
    beats_conv = 0; beats_pool = 0; beats_dense = 0;

    repeat (3) @(negedge clk);
    rst_n = 1'b1;
    @(negedge clk);

    // the weight set, once
    for (i = 0; i < nwrites; i = i + 1) begin
      w = wr_mem[i];
      axi_write(w[48:32], w[31:0]);
    end
    $display("lenet5_tb: %0d weight words written by cycle %0d", nwrites, cycle);

    min_sd = 1 << 30; max_sd = 0; min_fc = 1 << 30; max_fc = 0; sum_sd = 0;
    for (i = 0; i < nimages; i = i + 1) begin
      image = first + i;
      t_first = -1;
      for (k = 0; k < 196; k = k + 1) begin
        if (k == 0) t_first = cycle + 1;   // the first write's cycles start at the next edge
        axi_write(17'h00400 + 4 * k, img_mem[196 * i + k]);
      end
      axi_write(17'h00000, 32'd1);
      if (early != 0 && i + 1 < nimages) begin
        // the next image's first word right after the start: held until done
        axi_write(17'h00400, img_mem[196 * (i + 1)]);
        if (!dut.done_q) begin
          $display("lenet5_tb: ERROR: image %0d: an image write completed while busy", image);
          errors = errors + 1;
        end
      end
      polls = 0;
      status = 32'd0;
      while (!status[0]) begin
        axi_read(17'h00004, status);
        polls = polls + 1;
        if (polls > Watchdog) begin
          $display("lenet5_tb: FAIL: image %0d: no done after %0d polls", image, polls);
          $finish;
        end
      end
      if (status[1]) begin
        $display("lenet5_tb: ERROR: image %0d: busy together with done", image);
        errors = errors + 1;
      end
      axi_read(17'h00008, cls);
      // cycles from the first image write's first edge to the class read's data (RVALID
      // && RREADY at the edge just passed)
      k = cycle - t_first;
      $fdisplay(fd, "%0d class %0d %0d", image, cls[3:0], k);
      if (t_done - t_start < min_sd) min_sd = t_done - t_start;
      if (t_done - t_start > max_sd) max_sd = t_done - t_start;
      if (k < min_fc) min_fc = k;
      if (k > max_fc) max_fc = k;
      sum_sd = sum_sd + (t_done - t_start);
      $display("lenet5_tb: image %0d class %0d: start->done %0d cycles, first image write->class %0d cycles",
               image, cls[3:0], t_done - t_start, k);
    end
    $display("lenet5_tb: %0d images: start->done %0d..%0d cycles, first image write->class %0d..%0d cycles",
             nimages, min_sd, max_sd, min_fc, max_fc);
    $display("lenet5_tb: beats conv %0d pool %0d dense %0d (per image %0d, %0d, %0d expected)",
             beats_conv, beats_pool, beats_dense, 4704 + 1600 + 120, 1176 + 400, 84 + 10);
    if (beats_conv != nimages * 6424 || beats_pool != nimages * 1576 || beats_dense != nimages * 94)
      errors = errors + 1;
    $fclose(fd);
    if (errors != 0) $display("lenet5_tb: FAIL (%0d errors)", errors);
    else             $display("lenet5_tb: DONE");
    $finish;
  end

endmodule

// ma_argmax: index of the largest of N signed W-bit values, ties to the lowest index,
// found sequentially with one comparator: on in_valid value 0 is taken as the best,
// then values 1 .. N-1 are compared one per cycle (a later value wins only if strictly
// greater). in_data must stay unchanged for the N-1 cycles after in_valid (ma_fc's
// logit_q does). Latency: N cycles (in_valid in cycle t -> out_valid, a one-cycle
// strobe, in cycle t+N; out_class holds until the next result).
module ma_argmax #(
  parameter integer N    = 10,
  parameter integer W    = 32,
  parameter integer IdxW = 4
) (
  input  wire            clock,
  input  wire            reset_n,
  input  wire            in_valid,
  input  wire [N*W-1:0]  in_data,   // value i at [i*W +: W], signed
  output wire            out_valid,
  output wire [IdxW-1:0] out_class
);

  localparam integer    LastI = N - 1;
  localparam [IdxW-1:0] Last  = LastI[IdxW-1:0];

  wire signed [W-1:0] value [0:N-1];

  genvar i;
  generate
    for (i = 0; i < N; i = i + 1) begin : g_value
      assign value[i] = in_data[i*W +: W];
    end
  endgenerate

  reg                   busy_q;
  reg        [IdxW-1:0] idx_q;       // index compared this cycle
  reg signed [W-1:0]    best_q;
  reg        [IdxW-1:0] best_idx_q;
  reg                   cls_valid_q;
  reg        [IdxW-1:0] cls_q;

  wire signed [W-1:0] cur  = value[idx_q];
  wire                take = cur > best_q;

  always @(posedge clock) begin
    if (!reset_n) begin
      busy_q      <= 1'b0;
      idx_q       <= {IdxW{1'b0}};
      best_q      <= {W{1'b0}};
      best_idx_q  <= {IdxW{1'b0}};
      cls_valid_q <= 1'b0;
      cls_q       <= {IdxW{1'b0}};
    end else begin
      cls_valid_q <= 1'b0;
      if (in_valid) begin
        busy_q     <= 1'b1;
        idx_q      <= {{(IdxW-1){1'b0}}, 1'b1};
        best_q     <= value[0];
        best_idx_q <= {IdxW{1'b0}};
      end else if (busy_q) begin
        if (take) begin
          best_q     <= cur;
          best_idx_q <= idx_q;
        end
        if (idx_q == Last) begin
          busy_q      <= 1'b0;
          cls_valid_q <= 1'b1;
          cls_q       <= take ? idx_q : best_idx_q;
        end else begin
          idx_q <= idx_q + 1'b1;
        end
      end
    end
  end

  assign out_valid = cls_valid_q;
  assign out_class = cls_q;

endmodule

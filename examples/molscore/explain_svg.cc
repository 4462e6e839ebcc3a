#include "molscore/explain_svg.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>

namespace molscore {
namespace {

constexpr double kScale = 40.0;   // pixels per bond length
constexpr double kMargin = 30.0;  // around the drawing
constexpr double kLegendWidth = 210.0;
constexpr double kLineHeight = 18.0;
constexpr double kBondOffset = 6.0;  // between the lines of a multiple bond
constexpr int kSmilesChunk = 90;     // characters per title line

// XML-escapes `n` bytes of `text` (all of it when n < 0).
void PutEscaped(std::FILE* out, const char* text, int n = -1) {
  for (int i = 0; (n < 0 || i < n) && text[i] != '\0'; ++i) {
    switch (text[i]) {
      case '&':
        std::fputs("&amp;", out);
        break;
      case '<':
        std::fputs("&lt;", out);
        break;
      case '>':
        std::fputs("&gt;", out);
        break;
      case '"':
        std::fputs("&quot;", out);
        break;
      case '\'':
        std::fputs("&apos;", out);
        break;
      default:
        // Control characters are not allowed in XML 1.0 text.
        if (static_cast<unsigned char>(text[i]) >= 0x20) std::fputc(text[i], out);
    }
  }
}

// "NH2", "O-", "S", "C+" ... for atoms that are not neutral carbons; "" else.
void AtomLabel(const diffpool::MoleculeAtom& atom, char label[24]) {
  label[0] = '\0';
  if (atom.atomic_number == 6 && atom.formal_charge == 0) return;
  int n = std::snprintf(label, 24, "%s", diffpool::ElementSymbol(atom.atomic_number));
  if (atom.atomic_number != 6 && atom.total_hydrogens > 0 && n < 20) {
    n += atom.total_hydrogens == 1 ? std::snprintf(label + n, 24 - n, "H")
                                   : std::snprintf(label + n, 24 - n, "H%d", atom.total_hydrogens);
  }
  if (atom.formal_charge != 0 && n < 20) {
    const int magnitude = std::abs(atom.formal_charge);
    const char sign = atom.formal_charge > 0 ? '+' : '-';
    if (magnitude == 1) {
      std::snprintf(label + n, 24 - n, "%c", sign);
    } else {
      std::snprintf(label + n, 24 - n, "%d%c", magnitude, sign);
    }
  }
}

// Perceived brightness of "#rrggbb", 0..255.
double Brightness(const char* color) {
  unsigned r = 0, g = 0, b = 0;
  std::sscanf(color + 1, "%2x%2x%2x", &r, &g, &b);
  return 0.299 * r + 0.587 * g + 0.114 * b;
}

void Line(std::FILE* out, double x1, double y1, double x2, double y2, bool dashed) {
  std::fprintf(out, "<line x1=\"%.2f\" y1=\"%.2f\" x2=\"%.2f\" y2=\"%.2f\"%s/>", x1, y1, x2, y2,
               dashed ? " stroke-dasharray=\"4 3\"" : "");
}

}  // namespace

void ClusterColor(int32_t c, char color[8]) {
  static const char* const kTableau10[] = {"#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f",
                                           "#edc948", "#b07aa1", "#ff9da7", "#9c755f", "#bab0ac"};
  if (c >= 0 && c < 10) {
    std::memcpy(color, kTableau10[c], 8);
    return;
  }
  // HSL(hue, 55%, 55%) with the golden angle between successive clusters.
  const double h = std::fmod(137.50776 * c, 360.0) / 60.0, s = 0.55, l = 0.55;
  const double chroma = (1.0 - std::fabs(2.0 * l - 1.0)) * s;
  const double x = chroma * (1.0 - std::fabs(std::fmod(h, 2.0) - 1.0));
  double r = 0, g = 0, b = 0;
  switch (static_cast<int>(h)) {
    case 0:
      r = chroma, g = x;
      break;
    case 1:
      r = x, g = chroma;
      break;
    case 2:
      g = chroma, b = x;
      break;
    case 3:
      g = x, b = chroma;
      break;
    case 4:
      r = x, b = chroma;
      break;
    default:
      r = chroma, b = x;
      break;
  }
  const double m = l - chroma / 2.0;
  std::snprintf(color, 8, "#%02x%02x%02x", static_cast<int>(std::lround((r + m) * 255.0)),
                static_cast<int>(std::lround((g + m) * 255.0)),
                static_cast<int>(std::lround((b + m) * 255.0)));
}

bool WriteExplainSvg(std::FILE* out, const ExplainPicture& p) {
  const diffpool::Molecule& mol = *p.molecule;
  const int32_t n = mol.num_atoms;
  double min_x = 0.0, max_x = 0.0, min_y = 0.0, max_y = 0.0;
  for (int32_t i = 0; i < n; ++i) {
    const double x = p.xy[2 * i], y = p.xy[2 * i + 1];
    if (i == 0 || x < min_x) min_x = x;
    if (i == 0 || x > max_x) max_x = x;
    if (i == 0 || y < min_y) min_y = y;
    if (i == 0 || y > max_y) max_y = y;
  }
  const int smiles_length = static_cast<int>(std::strlen(p.smiles));
  const int smiles_lines = std::max(1, (smiles_length + kSmilesChunk - 1) / kSmilesChunk);
  const double title_height = kLineHeight * (3 + smiles_lines) + 10.0;
  const double drawing_width = (max_x - min_x) * kScale + 2.0 * kMargin;
  const double drawing_height = (max_y - min_y) * kScale + 2.0 * kMargin;
  const double legend_height = kLineHeight * (p.num_clusters + 1) + 20.0;
  const double width = std::max(drawing_width + kLegendWidth, 620.0);
  const double height = title_height + std::max(drawing_height, legend_height);
  // SVG y grows downwards: flip the layout's y.
  auto px = [&](int32_t i) { return kMargin + (p.xy[2 * i] - min_x) * kScale; };
  auto py = [&](int32_t i) { return title_height + kMargin + (max_y - p.xy[2 * i + 1]) * kScale; };

  std::fprintf(out,
               "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
               "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%.0f\" height=\"%.0f\" "
               "viewBox=\"0 0 %.0f %.0f\" font-family=\"DejaVu Sans, Arial, sans-serif\">\n",
               width, height, width, height);
  std::fputs("<title>", out);
  PutEscaped(out, *p.name ? p.name : p.smiles);
  std::fputs("</title>\n", out);
  std::fprintf(out, "<rect width=\"%.0f\" height=\"%.0f\" fill=\"#ffffff\"/>\n", width, height);
  // Title: name, SMILES (wrapped), score, what the colors mean.
  double ty = kLineHeight;
  std::fprintf(out,
               "<g id=\"title\" font-size=\"13\">\n<text x=\"10\" y=\"%.0f\" font-weight=\"bold\">",
               ty);
  PutEscaped(out, *p.name ? p.name : "molecule");
  std::fputs("</text>\n", out);
  for (int line = 0; line < smiles_lines; ++line) {
    ty += kLineHeight;
    std::fprintf(out, "<text x=\"10\" y=\"%.0f\" class=\"smiles\">%s", ty,
                 line == 0 ? "SMILES " : "");
    PutEscaped(out, p.smiles + line * kSmilesChunk, kSmilesChunk);
    std::fputs("</text>\n", out);
  }
  ty += kLineHeight;
  std::fprintf(out, "<text x=\"10\" y=\"%.0f\" class=\"score\">", ty);
  PutEscaped(out, p.score);
  std::fputs("</text>\n", out);
  ty += kLineHeight;
  std::fprintf(out, "<text x=\"10\" y=\"%.0f\" font-size=\"11\" fill=\"#555555\">", ty);
  std::fprintf(out, "%d atoms colored by level-1 DiffPool cluster (argmax of S); model ", n);
  PutEscaped(out, p.model);
  std::fputs("</text>\n</g>\n", out);

  // Bonds.
  std::fputs("<g id=\"bonds\" stroke=\"#222222\" stroke-width=\"1.6\" stroke-linecap=\"round\">\n",
             out);
  for (int32_t b = 0; b < mol.num_bonds; ++b) {
    const diffpool::MoleculeBond& bond = mol.bonds[b];
    const int32_t u = bond.begin, v = bond.end;
    const double x1 = px(u), y1 = py(u), x2 = px(v), y2 = py(v);
    const double length = std::max(std::hypot(x2 - x1, y2 - y1), 1e-9);
    const double nx = -(y2 - y1) / length, ny = (x2 - x1) / length;
    // Which side the neighbours (ring neighbours, for ring bonds) lie on.
    const bool ring_bond = mol.atoms[u].in_ring && mol.atoms[v].in_ring;
    double side = 0.0;
    for (int32_t o = 0; o < mol.num_bonds; ++o) {
      if (o == b) continue;
      const diffpool::MoleculeBond& other = mol.bonds[o];
      int32_t c = -1;
      if (other.begin == u || other.begin == v) c = other.end;
      if (other.end == u || other.end == v) c = other.begin;
      if (c < 0 || c == u || c == v || (ring_bond && !mol.atoms[c].in_ring)) continue;
      side += (px(c) - 0.5 * (x1 + x2)) * nx + (py(c) - 0.5 * (y1 + y2)) * ny;
    }
    const double sign = side < 0.0 ? -1.0 : 1.0;
    const bool aromatic = bond.order == diffpool::BondOrder::kAromatic;
    const int order = aromatic ? 2 : static_cast<int>(bond.order);
    std::fprintf(out, "<g class=\"bond\" data-begin=\"%d\" data-end=\"%d\" data-order=\"", u, v);
    if (aromatic) {
      std::fputs("aromatic", out);
    } else {
      std::fprintf(out, "%d", order);
    }
    std::fputs("\">", out);
    if (order == 2 && (aromatic || (ring_bond && std::fabs(side) > 1e-6))) {
      // The bond line plus a shorter one inside the ring (dashed if aromatic).
      Line(out, x1, y1, x2, y2, false);
      const double ox = sign * kBondOffset * nx, oy = sign * kBondOffset * ny;
      const double sx = 0.15 * (x2 - x1), sy = 0.15 * (y2 - y1);
      Line(out, x1 + ox + sx, y1 + oy + sy, x2 + ox - sx, y2 + oy - sy, aromatic);
    } else {
      // `order` parallel lines centred on the bond.
      for (int k = 0; k < order; ++k) {
        const double offset = (k - 0.5 * (order - 1)) * kBondOffset;
        Line(out, x1 + offset * nx, y1 + offset * ny, x2 + offset * nx, y2 + offset * ny, false);
      }
    }
    std::fputs("</g>\n", out);
  }
  std::fputs("</g>\n", out);

  // Atoms.
  std::fputs("<g id=\"atoms\" font-size=\"11\" text-anchor=\"middle\">\n", out);
  for (int32_t i = 0; i < n; ++i) {
    char label[24], color[8];
    AtomLabel(mol.atoms[i], label);
    ClusterColor(p.clusters[i], color);
    const int length = static_cast<int>(std::strlen(label));
    const double r = length == 0 ? 7.0 : std::max(10.0, 3.4 * length + 4.0);
    std::fprintf(out,
                 "<g class=\"atom\" data-index=\"%d\" data-element=\"%s\" data-cluster=\"%d\">"
                 "<circle cx=\"%.2f\" cy=\"%.2f\" r=\"%.1f\" fill=\"%s\" stroke=\"#333333\" "
                 "stroke-width=\"0.8\"/>",
                 i, diffpool::ElementSymbol(mol.atoms[i].atomic_number), p.clusters[i], px(i),
                 py(i), r, color);
    if (length > 0) {
      std::fprintf(out, "<text x=\"%.2f\" y=\"%.2f\" fill=\"%s\">", px(i), py(i) + 4.0,
                   Brightness(color) < 140.0 ? "#ffffff" : "#000000");
      PutEscaped(out, label);
      std::fputs("</text>", out);
    }
    std::fputs("</g>\n", out);
  }
  std::fputs("</g>\n", out);

  // Legend: every level-1 cluster with its color and member count.
  const double lx = width - kLegendWidth + 10.0;
  double ly = title_height + 20.0;
  std::fprintf(out,
               "<g id=\"legend\" font-size=\"12\">\n<text x=\"%.0f\" y=\"%.0f\" "
               "font-weight=\"bold\">level-1 clusters (%d)</text>\n",
               lx, ly, p.num_clusters);
  for (int32_t c = 0; c < p.num_clusters; ++c) {
    int32_t members = 0;
    for (int32_t i = 0; i < n; ++i) members += p.clusters[i] == c;
    char color[8];
    ClusterColor(c, color);
    ly += kLineHeight;
    std::fprintf(out,
                 "<g class=\"cluster\" data-cluster=\"%d\" data-members=\"%d\">"
                 "<rect x=\"%.0f\" y=\"%.0f\" width=\"14\" height=\"14\" fill=\"%s\" "
                 "stroke=\"#333333\" stroke-width=\"0.8\"/>"
                 "<text x=\"%.0f\" y=\"%.0f\"%s>cluster %d: %d atom%s</text></g>\n",
                 c, members, lx, ly - 11.0, color, lx + 20.0, ly,
                 members == 0 ? " fill=\"#999999\"" : "", c, members, members == 1 ? "" : "s");
  }
  std::fputs("</g>\n</svg>\n", out);
  return std::ferror(out) == 0;
}

}  // namespace molscore
